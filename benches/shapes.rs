//! groupwait in Go's six `sync.WaitGroup` benchmark shapes (src/sync/waitgroup_test.go), with
//! Go's `b.RunParallel` semantics, against Go's own numbers (run by `scripts/bench.sh`), the
//! Rust peers and the bare-atomic limit.
//!
//! `T` threads take batches ("grains" of about 100 µs, at most 10,000 iterations, as Go
//! computes them) from one shared iteration budget `N`, and ns/op = wall time of the whole run
//! / `N`, not the time per iteration on each thread (that is what divan's `threads` option
//! reports: each thread's sample is timed separately and divided by its own iteration count,
//! so under perfect scaling divan shows `T` times Go's number). `T` = 1 and 2, Go's
//! `-cpu 1,2`. The implementations are the library's ([`benches`]); `atomic` is Go's fast path
//! with nothing else (`fetch_add`, `fetch_sub`, an `Acquire` load).
//!
//! - `Uncontended`: a private group per thread, padded to 128 bytes: `add(1); done(); wait()`.
//!   crossbeam's `wait` consumes the group and its count includes its own handle, so a
//!   crossbeam group cannot be reused: its iteration is a group's whole life (`new`, `clone`,
//!   drop the clone, `wait`). That is extra work crossbeam's design forces, not the same use.
//! - `AddDone`: one shared group: `add(1); done()` (crossbeam: clone and drop a handle). The
//!   same use on every side.
//! - `AddDoneWork`: the same with 100 rounds of local `x *= 2; x /= 2` in between.
//! - `Wait`: one shared group at zero: `wait()`; `WaitWork`: `wait()` then the local work.
//!   crossbeam has no wait that leaves the group usable, so these have no crossbeam column.
//! - `ActuallyWait`: a round that really waits for another thread, two ways. `fresh thread`:
//!   `add(1)`, spawn a thread that calls `done`, `wait`, join it (Go's shape; Go's "thread"
//!   is a goroutine, a user-space switch). The `atomic` column here is spawn + join with no
//!   group at all, the floor of the shape. `hand-off`: the same round given to a worker
//!   thread that is already running ([`PollingWorker`]): `add(1)`, signal, `wait`; the worker
//!   calls `done`. With `T` = 2 there are two such pairs, four busy threads on a two-core
//!   machine, and the spinners yield after a while without work.
//!
//! A cell is 21 timed runs of about 20 ms each, after Go's kind of calibration, interleaved
//! between the implementations; the median is reported. The measuring threads are pinned one
//! per core, and a hand-off worker next to its waiter (threads spawned inside a round are not).
//!
//! ```text
//! cargo bench -p benches --bench shapes                            # all cells, about half a minute
//! cargo bench -p benches --bench shapes -- --quick AddDone         # shorter samples; cells named *AddDone*
//! cargo bench -p benches --bench shapes -- --reps 7 --out s.tsv    # 7 runs per cell; keep the samples
//! cargo bench -p benches --bench shapes -- --profile uncontended groupwait 1000000  # for callgrind
//! ```

use benches::{
    calibrate, cores, interleave, local_work, run_parallel, set_spin_policy, AtomicGroup,
    CondvarGroup, Group, Opts, Padded, PollingWorker, Runner, Sink, SpinPolicy,
};
use crossbeam_utils::sync::WaitGroup as CbWaitGroup;
use groupwait::WaitGroup;
use std::hint::black_box;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    cores(); // before any thread is pinned
    let opts = Opts::parse();
    if let Some((shape, imp, iters)) = &opts.profile {
        profile(shape, imp, *iters);
        return;
    }
    let mut sink = Sink::new(opts.out.clone());
    let started = Instant::now();
    for threads in [1, 2] {
        shapes(&opts, &mut sink, threads);
    }
    println!("shapes: done in {:.1} s", started.elapsed().as_secs_f64());
}

fn shapes(opts: &Opts, sink: &mut Sink, t: usize) {
    let mut cell = |shape: &str, runners: Vec<(&str, Runner<'static>)>| {
        measure_cell(opts, sink, shape, t, runners);
    };
    cell(
        "Uncontended",
        vec![
            ("groupwait", uncontended::<WaitGroup>(t)),
            ("atomic", uncontended::<AtomicGroup>(t)),
            ("crossbeam", uncontended_crossbeam(t)),
            ("condvar", uncontended::<CondvarGroup>(t)),
        ],
    );
    cell("AddDone", add_done_cell::<false>(t));
    cell("AddDoneWork", add_done_cell::<true>(t));
    cell("Wait", wait_cell::<false>(t));
    cell("WaitWork", wait_cell::<true>(t));
    cell(
        "ActuallyWait (fresh thread)",
        vec![
            ("groupwait", fresh_thread::<WaitGroup>(t)),
            ("atomic", fresh_thread_join_only(t)),
            ("crossbeam", fresh_thread_crossbeam(t)),
            ("condvar", fresh_thread::<CondvarGroup>(t)),
        ],
    );
    // Two measuring threads and two workers on fewer than four cores: spinners must yield.
    set_spin_policy(if 2 * t > cores() {
        SpinPolicy::Oversubscribed
    } else {
        SpinPolicy::Patient
    });
    cell(
        "ActuallyWait (hand-off)",
        vec![
            ("groupwait", handoff::<WaitGroup>(t)),
            ("atomic", handoff::<AtomicGroup>(t)),
            ("crossbeam", handoff_crossbeam(t)),
            ("condvar", handoff::<CondvarGroup>(t)),
        ],
    );
    set_spin_policy(SpinPolicy::Patient);
}

/// The implementations of `AddDone`, or with `WORK` of `AddDoneWork`.
fn add_done_cell<const WORK: bool>(t: usize) -> Vec<(&'static str, Runner<'static>)> {
    vec![
        ("groupwait", add_done::<WaitGroup, WORK>(t)),
        ("atomic", add_done::<AtomicGroup, WORK>(t)),
        ("crossbeam", add_done_crossbeam::<WORK>(t)),
        ("condvar", add_done::<CondvarGroup, WORK>(t)),
    ]
}

/// The implementations of `Wait`, or with `WORK` of `WaitWork`.
fn wait_cell<const WORK: bool>(t: usize) -> Vec<(&'static str, Runner<'static>)> {
    vec![
        ("groupwait", wait_zero::<WaitGroup, WORK>(t)),
        ("atomic", wait_zero::<AtomicGroup, WORK>(t)),
        ("condvar", wait_zero::<CondvarGroup, WORK>(t)),
    ]
}

/// Calibrates every implementation of one cell, then takes interleaved timed runs of each
/// and records ns/op.
fn measure_cell(
    opts: &Opts,
    sink: &mut Sink,
    shape: &str,
    threads: usize,
    runners: Vec<(&str, Runner<'_>)>,
) {
    if !opts.selects(shape) {
        return;
    }
    let target = opts.sample_time(Duration::from_millis(20));
    let plans: Vec<(u64, u64)> = runners.iter().map(|(_, r)| calibrate(r, target)).collect();
    let samples = interleave(opts.reps(21), runners.len(), |i, out| {
        let (n, grain) = plans[i];
        out.push(runners[i].1(n, grain).as_nanos() as f64 / n as f64);
    });
    for ((name, _), s) in runners.iter().zip(&samples) {
        sink.record("shapes", shape, threads, name, s);
    }
}

/// A [`Runner`] of `body` on `threads` threads, each with its own state from `init` (see
/// [`run_parallel`]).
fn parallel<S>(
    threads: usize,
    pin: bool,
    init: impl Fn(usize) -> S + Sync + 'static,
    body: impl Fn(&mut S, u64) + Sync + 'static,
) -> Runner<'static> {
    Box::new(move |total, grain| run_parallel(threads, pin, total, grain, &init, &body))
}

fn uncontended<G: Group>(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        true,
        |_| Box::new(Padded(G::create())),
        |g, n| {
            for _ in 0..n {
                let g = black_box(&g.0);
                g.add1();
                g.done();
                g.wait();
            }
        },
    )
}

fn uncontended_crossbeam(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        true,
        |_| (),
        |(), n| {
            for _ in 0..n {
                let wg = CbWaitGroup::new();
                drop(black_box(wg.clone()));
                wg.wait();
            }
        },
    )
}

fn add_done<G: Group, const WORK: bool>(threads: usize) -> Runner<'static> {
    let g = G::create();
    parallel(
        threads,
        true,
        |_| black_box(0i64),
        move |x, n| {
            for _ in 0..n {
                let g = black_box(&g);
                g.add1();
                if WORK {
                    local_work(x);
                }
                g.done();
            }
        },
    )
}

fn add_done_crossbeam<const WORK: bool>(threads: usize) -> Runner<'static> {
    let wg = CbWaitGroup::new();
    parallel(
        threads,
        true,
        |_| black_box(0i64),
        move |x, n| {
            for _ in 0..n {
                let handle = black_box(wg.clone());
                if WORK {
                    local_work(x);
                }
                drop(handle);
            }
        },
    )
}

fn wait_zero<G: Group, const WORK: bool>(threads: usize) -> Runner<'static> {
    let g = G::create();
    parallel(
        threads,
        true,
        |_| black_box(0i64),
        move |x, n| {
            for _ in 0..n {
                black_box(&g).wait();
                if WORK {
                    local_work(x);
                }
            }
        },
    )
}

fn fresh_thread<G: Group>(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        false,
        |_| Arc::new(G::create()),
        |g, n| {
            for _ in 0..n {
                g.add1();
                let worker = {
                    let g = Arc::clone(g);
                    thread::spawn(move || g.done())
                };
                g.wait();
                worker.join().expect("the worker only calls done");
            }
        },
    )
}

fn fresh_thread_crossbeam(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        false,
        |_| (),
        |(), n| {
            for _ in 0..n {
                let wg = CbWaitGroup::new();
                let worker = {
                    let handle = wg.clone();
                    thread::spawn(move || drop(handle))
                };
                wg.wait();
                worker.join().expect("the worker only drops its handle");
            }
        },
    )
}

/// The floor of the fresh-thread shape: spawn and join, no group.
fn fresh_thread_join_only(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        false,
        |_| (),
        |(), n| {
            for _ in 0..n {
                thread::spawn(|| {})
                    .join()
                    .expect("the worker does nothing");
            }
        },
    )
}

fn handoff<G: Group>(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        true,
        |i| PollingWorker::spawn(i + 1, G::create(), |g, _| g.done()),
        |w, n| {
            for _ in 0..n {
                w.value().add1();
                w.signal();
                w.value().wait();
            }
        },
    )
}

/// crossbeam's hand-off: its `wait` consumes the group, so each round builds a new one and
/// puts a handle in a slot for the worker to drop.
fn handoff_crossbeam(threads: usize) -> Runner<'static> {
    parallel(
        threads,
        true,
        |i| {
            PollingWorker::spawn(i + 1, Mutex::new(None::<CbWaitGroup>), |slot, _| {
                drop(slot.lock().unwrap_or_else(PoisonError::into_inner).take());
            })
        },
        |w, n| {
            for _ in 0..n {
                let wg = CbWaitGroup::new();
                *w.value().lock().unwrap_or_else(PoisonError::into_inner) = Some(wg.clone());
                w.signal();
                wg.wait();
            }
        },
    )
}

/// One shape on one thread, untimed, for `valgrind --tool=callgrind`: `scripts/bench.sh`
/// counts instructions per operation as the difference between two runs of different length,
/// so the set-up of a run (its thread, the pinning) cancels out.
fn profile(shape: &str, imp: &str, iters: u64) {
    let runner = match (shape, imp) {
        ("uncontended", "groupwait") => uncontended::<WaitGroup>(1),
        ("uncontended", "atomic") => uncontended::<AtomicGroup>(1),
        ("uncontended", "condvar") => uncontended::<CondvarGroup>(1),
        ("uncontended", "crossbeam") => uncontended_crossbeam(1),
        ("adddone", "groupwait") => add_done::<WaitGroup, false>(1),
        ("adddone", "atomic") => add_done::<AtomicGroup, false>(1),
        ("adddone", "condvar") => add_done::<CondvarGroup, false>(1),
        ("adddone", "crossbeam") => add_done_crossbeam::<false>(1),
        ("wait", "groupwait") => wait_zero::<WaitGroup, false>(1),
        ("wait", "atomic") => wait_zero::<AtomicGroup, false>(1),
        ("wait", "condvar") => wait_zero::<CondvarGroup, false>(1),
        _ => panic!(
            "unknown shape and implementation {shape} {imp}: uncontended, adddone or wait; \
             groupwait, atomic, condvar or crossbeam (not with wait)"
        ),
    };
    runner(iters, 10_000);
}
