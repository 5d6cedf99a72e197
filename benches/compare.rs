//! groupwait against Go's `sync.WaitGroup` benchmark shapes, the Rust peers, and the hardware
//! limits, on this machine. `scripts/bench.sh` runs this next to Go's own benchmarks and turns
//! the samples into `BENCHMARKS.md`; `cargo bench --bench compare` runs it alone and prints
//! medians.
//!
//! # What is measured
//!
//! Implementations: `groupwait` (this crate), `crossbeam` (crossbeam-utils `sync::WaitGroup`),
//! `condvar` (a plain `Mutex<usize>` + `Condvar` group, `benches/common`), and `atomic`, the
//! bare-atomic limit of a shape where it has one (Go's `Add` and `Done` are one atomic add each
//! and its `Wait` on zero is one load, so the limit is a `fetch_add`, a `fetch_sub` and an
//! `Acquire` load on an `AtomicU64`; a waiter that has to wait just spins on the load).
//!
//! * `shapes`: Go's six `sync` benchmarks (src/sync/waitgroup_test.go), with Go's
//!   `b.RunParallel` semantics: `T` threads take batches ("grains" of about 100 µs, at most
//!   10,000 iterations, as Go computes them) from one shared iteration budget `N`, and
//!   ns/op = wall time of the whole run / `N`, not the time per iteration on each thread (that
//!   is what divan's `threads` option reports: each thread's sample is timed separately and
//!   divided by its own iteration count, so under perfect scaling divan shows `T` times Go's
//!   number). `T` = 1 and 2, Go's `-cpu 1,2`.
//!   - `Uncontended`: a private group per thread, padded to 128 bytes: `add(1); done(); wait()`.
//!     crossbeam's `wait` consumes the group and its count includes its own handle, so a
//!     crossbeam group cannot be reused: its iteration is a group's whole life (`new`, `clone`,
//!     drop the clone, `wait`).
//!   - `AddDone`: one shared group: `add(1); done()` (crossbeam: clone and drop a handle).
//!   - `AddDoneWork`: the same with 100 rounds of local `x *= 2; x /= 2` in between, each
//!     step through `black_box` so that the compiler cannot fold the rounds away.
//!   - `Wait`: one shared group at zero: `wait()`; `WaitWork`: `wait()` then the local work.
//!     crossbeam has no wait that leaves the group usable, so these have no crossbeam column.
//!   - `ActuallyWait`: a round that really waits for another thread, two ways. `fresh thread`:
//!     `add(1)`, spawn a thread that calls `done`, `wait`, join it (Go's shape; Go's
//!     "thread" is a goroutine). The `atomic` column here is spawn + join with no group at
//!     all, the floor of the shape. `hand-off`: the same round given to a worker thread that
//!     is already running, polling a "go" counter: `add(1)`, bump the counter, `wait`; the
//!     worker calls `done`. With `T` = 2 there are two such pairs, four threads on a
//!     two-core machine; the workers poll with `spin_loop` and, after a while without work,
//!     `yield_now`.
//! * `wake`: wake latency of a sleeping waiter: from just before the `done` that brings the
//!   counter to zero until the waiter's `wait` returns, both read from one monotonic clock.
//!   Each round the releasing thread busy-waits 100 µs first (untimed), so the waiter has
//!   long finished spinning and sleeps in the kernel. `futex` is the same round on a raw futex
//!   word (`FUTEX_WAIT`/`FUTEX_WAKE`, no spinning): the floor. `futex ping-pong` is two
//!   threads waking each other through futexes, the time per one-way hand-off (a round trip
//!   halved), for reference.
//! * `fanout`: one round: `add(N)`, spawn `N` threads that each call `done`, `wait`; timed
//!   until `wait` returns (the threads are joined after, untimed). `scope` is
//!   `std::thread::scope` spawning the same `N` threads, `join` spawns them and joins every
//!   handle, `atomic` counts down an `AtomicUsize` and spins (yielding) until it is zero.
//! * `async`: one round: 10,000 tokio tasks, each counted in the group, then one await until
//!   all finished. groupwait: `spawn(wg.track_owned(async {}))` and `wg.wait_async()`;
//!   tokio-util's `TaskTracker` (`spawn`, `close`, `wait`); a `JoinSet` (`spawn`, then
//!   `join_next` until empty); and a `Vec<JoinHandle>` awaited in turn. The round runs
//!   inside a task on a current-thread runtime (threads = 1) and on a two-worker
//!   multi-thread runtime (threads = 2).
//!
//! # Sampling
//!
//! A cell of `shapes` is 21 timed runs of about 20 ms each (after Go's kind of calibration),
//! and the median is reported: on a shared machine a time slice taken by another process then
//! spoils a few runs instead of inflating one long run. The runs of a cell alternate between
//! the implementations, so a busy period hits all of them. The spinning shapes pin their
//! measuring threads one per core (and a hand-off worker next to its waiter), because a busy
//! kernel may otherwise leave two of our spinning threads on one core for a whole time slice;
//! threads spawned inside a round (fresh thread, fan-out) and tokio's are not pinned.
//!
//! # Output
//!
//! One summary line per cell (median, min, max), and with `--out FILE` every sample appended
//! to `FILE` as a tab-separated row `section, shape, threads, impl, ns` (ns per op, per round,
//! or per wake-up).
//!
//! ```text
//! cargo bench --bench compare                          # everything, about a minute
//! cargo bench --bench compare -- --quick shapes wake   # fewer, shorter samples; two sections
//! cargo bench --bench compare -- --only AddDone shapes # shapes whose name contains "AddDone"
//! cargo bench --bench compare -- --reps 7 --out results.tsv  # 7 runs per cell; keep samples
//! cargo bench --bench compare -- --profile uncontended groupwait 1000000  # for callgrind
//! ```

// The futex system calls of the wake-latency floor and `sched_setaffinity`; each unsafe block
// has a SAFETY comment.
#![allow(unsafe_code)]

#[path = "common/mod.rs"]
mod common;

use common::CondvarGroup;
use crossbeam_utils::sync::WaitGroup as CbWaitGroup;
use groupwait::WaitGroup;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::hint::{black_box, spin_loop};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
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
    if opts.wants("shapes") {
        go_shapes(&opts, &mut sink);
    }
    if opts.wants("wake") {
        wake(&opts, &mut sink);
    }
    if opts.wants("fanout") {
        fanout(&opts, &mut sink);
    }
    if opts.wants("async") {
        async_fanout(&opts, &mut sink);
    }
    println!("compare: done in {:.1} s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------------
// Options and output
// ---------------------------------------------------------------------------------------------

struct Opts {
    /// Append raw samples here.
    out: Option<PathBuf>,
    /// Fewer and shorter samples (a smoke run).
    quick: bool,
    /// Sections to run (empty: all).
    sections: Vec<String>,
    /// `--profile SHAPE IMPL ITERS`: run one shape untimed, for callgrind.
    profile: Option<(String, String, u64)>,
    /// `--only TEXT`: in the `shapes` section, run only the shapes whose name contains `TEXT`.
    only: Option<String>,
    /// `--reps N`: timed runs per cell of the `shapes` section (default 21; `scripts/bench.sh`
    /// splits them over several passes, alternating with Go's benchmarks).
    shape_reps: Option<usize>,
}

impl Opts {
    fn parse() -> Opts {
        let mut opts = Opts {
            out: None,
            quick: false,
            sections: Vec::new(),
            profile: None,
            shape_reps: None,
            only: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" | "--test" => {} // passed by cargo
                "--quick" => opts.quick = true,
                "--out" => opts.out = Some(args.next().expect("--out FILE").into()),
                "--only" => opts.only = Some(args.next().expect("--only TEXT")),
                "--reps" => {
                    let n = args.next().and_then(|n| n.parse().ok());
                    opts.shape_reps = Some(n.expect("--reps N (a number)"));
                }
                "--profile" => {
                    let shape = args.next().expect("--profile SHAPE IMPL ITERS");
                    let imp = args.next().expect("--profile SHAPE IMPL ITERS");
                    let iters = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .expect("--profile SHAPE IMPL ITERS (a number)");
                    opts.profile = Some((shape, imp, iters));
                }
                s if s.starts_with("--") => {} // other harness flags: ignored
                s => opts.sections.push(s.to_owned()),
            }
        }
        opts
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.is_empty() || self.sections.iter().any(|s| s == section)
    }

    /// Target duration of one timed run in the `shapes` section.
    ///
    /// Short runs, many of them, and their median: a burst of load from another process
    /// (a time slice of a few ms taken from one of our threads) then spoils a few samples
    /// instead of adding to every one, as it would to a single long run's mean.
    fn sample_time(&self) -> Duration {
        if self.quick {
            Duration::from_millis(5)
        } else {
            Duration::from_millis(20)
        }
    }

    /// Timed runs per cell.
    fn reps(&self, normal: usize) -> usize {
        if self.quick {
            (normal / 4).max(2)
        } else {
            normal
        }
    }
}

/// Collects samples, prints one summary line per cell, appends raw rows to the output file.
struct Sink {
    file: Option<std::fs::File>,
}

impl Sink {
    fn new(path: Option<PathBuf>) -> Sink {
        let file = path.map(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", p.display()))
        });
        Sink { file }
    }

    fn record(&mut self, section: &str, shape: &str, threads: usize, imp: &str, samples: &[f64]) {
        if let Some(file) = &mut self.file {
            let mut rows = String::new();
            for s in samples {
                writeln!(rows, "{section}\t{shape}\t{threads}\t{imp}\t{s:.3}").unwrap();
            }
            file.write_all(rows.as_bytes()).expect("write samples");
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2];
        println!(
            "{section:<7} {shape:<28} T={threads} {imp:<16} {:>12} ns  (min {}, max {}, {} samples)",
            fmt_ns(med),
            fmt_ns(sorted[0]),
            fmt_ns(sorted[sorted.len() - 1]),
            sorted.len()
        );
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        format!("{ns:.2}")
    } else {
        format!("{ns:.0}")
    }
}

// ---------------------------------------------------------------------------------------------
// The groups behind one interface
// ---------------------------------------------------------------------------------------------

/// The operations Go's shapes use. crossbeam's group has a different shape (clone = add,
/// drop = done, `wait(self)`) and is written out in each benchmark instead.
trait Group: Send + Sync + 'static {
    fn create() -> Self;
    fn add1(&self);
    fn done(&self);
    fn wait(&self);
}

impl Group for WaitGroup {
    fn create() -> Self {
        WaitGroup::new()
    }
    #[inline]
    fn add1(&self) {
        self.add(1);
    }
    #[inline]
    fn done(&self) {
        WaitGroup::done(self);
    }
    #[inline]
    fn wait(&self) {
        WaitGroup::wait(self);
    }
}

impl Group for CondvarGroup {
    fn create() -> Self {
        CondvarGroup::new()
    }
    #[inline]
    fn add1(&self) {
        self.add(1);
    }
    #[inline]
    fn done(&self) {
        CondvarGroup::done(self);
    }
    #[inline]
    fn wait(&self) {
        CondvarGroup::wait(self);
    }
}

/// The bare-atomic limit: Go's fast paths with nothing else (`Add` = `fetch_add`, `Wait` on
/// zero = one `Acquire` load); a waiter that must wait spins on the load.
struct AtomicGroup(AtomicU64);

impl Group for AtomicGroup {
    fn create() -> Self {
        AtomicGroup(AtomicU64::new(0))
    }
    #[inline]
    fn add1(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
    #[inline]
    fn done(&self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
    #[inline]
    fn wait(&self) {
        if self.0.load(Ordering::Acquire) != 0 {
            self.wait_slow();
        }
    }
}

impl AtomicGroup {
    #[cold]
    fn wait_slow(&self) {
        let mut idle = 0;
        while self.0.load(Ordering::Acquire) != 0 {
            idle_pause(&mut idle);
        }
    }
}

/// Polls a busy-waiting loop makes before it starts yielding; see `idle_pause`.
static YIELD_AFTER: AtomicU32 = AtomicU32::new(PATIENT);

/// Spin for (practically) ever: the default, when every busy thread has a core of its own.
const PATIENT: u32 = u32::MAX;

/// With more busy threads than cores: yield after a few tens of µs of spinning.
const OVERSUBSCRIBED: u32 = 2048;

/// One poll of a busy-waiting loop: `spin_loop`, or `yield_now` once the loop has polled
/// `YIELD_AFTER` times, so that spinners do not starve the threads they wait for when there
/// are more busy threads than cores. When each has its own core, a yield would only hand the
/// core to an unrelated process for a whole time slice, so by default spinners never yield.
#[inline]
fn idle_pause(idle: &mut u32) {
    *idle = idle.saturating_add(1);
    if *idle < YIELD_AFTER.load(Ordering::Relaxed) {
        spin_loop();
    } else {
        thread::yield_now();
    }
}

/// Pins the calling thread to one core (`index` modulo the number of cores).
///
/// The measuring threads of the spinning shapes are pinned one per core, and a hand-off
/// worker to the core next to its waiter's. Otherwise, on a machine busy with other work, the
/// kernel places a new thread on its parent's core and may leave two spinning threads of ours
/// on one core for several milliseconds (a whole time slice per hand-off) before its load
/// balancer separates them. On an idle machine it places them on idle cores anyway.
#[cfg(target_os = "linux")]
fn pin_to_core(index: usize) {
    let cores = cores();
    // SAFETY: `cpu_set_t` is a plain bit array, valid when zeroed; CPU_SET writes one bit
    // inside it (the index is below the number of online cores, far below CPU_SETSIZE);
    // sched_setaffinity(0, ..) reads `size_of::<cpu_set_t>()` bytes from the live local.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(index % cores, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_core(_index: usize) {}

/// The machine's cores, as seen before any thread was pinned (`available_parallelism` asks
/// the calling thread's affinity, which a pinned thread, and every thread it spawns, has
/// narrowed to one core).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Go's padded private group: 128 bytes of alignment keep neighbouring threads' groups on
/// separate cache lines (Go pads with a 128-byte array after the group).
#[repr(align(128))]
struct Padded<T>(T);

/// Go's local work: 100 rounds of `x *= 2; x /= 2` on a local.
#[inline(always)]
fn local_work(x: &mut i64) {
    for _ in 0..100 {
        *x = black_box(*x * 2);
        *x = black_box(*x / 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Go's b.RunParallel
// ---------------------------------------------------------------------------------------------

/// Runs `total` iterations on `threads` threads the way Go's `b.RunParallel` does: each thread
/// builds its own state (`init`, untimed), then takes batches of `grain` iterations from a
/// shared budget until it is spent. Returns the wall time from the first thread's start to the
/// end of the last thread's last batch (state teardown is not timed).
///
/// The threads start together, each as soon as it sees every thread ready (no one sleeps in a
/// barrier, so no wake-up is timed). A thread that another process keeps off its core at that
/// moment starts late, and the others take its share of the batches meanwhile, as in Go.
fn run_parallel<S>(
    threads: usize,
    pin: bool,
    total: u64,
    grain: u64,
    init: impl Fn(usize) -> S + Sync,
    body: impl Fn(&mut S, u64) + Sync,
) -> Duration {
    let next = AtomicU64::new(0);
    let ready = AtomicUsize::new(0);
    let span = Mutex::new(None::<(Instant, Instant)>);
    let init = &init;
    let body = &body;
    let (next, ready, span_ref) = (&next, &ready, &span);
    thread::scope(|s| {
        for index in 0..threads {
            s.spawn(move || {
                if pin {
                    pin_to_core(index);
                }
                let mut state = init(index);
                ready.fetch_add(1, Ordering::AcqRel);
                while ready.load(Ordering::Acquire) != threads {
                    // Untimed: yield, the other thread may still need this core.
                    thread::yield_now();
                }
                let start = Instant::now();
                loop {
                    let first = next.fetch_add(grain, Ordering::Relaxed);
                    if first >= total {
                        break;
                    }
                    body(&mut state, grain.min(total - first));
                }
                let end = Instant::now();
                let mut span = span_ref.lock().unwrap_or_else(PoisonError::into_inner);
                *span = Some(span.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
                drop(span);
                drop(state);
            });
        }
    });
    let (start, end) = span
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .expect("at least one thread");
    end - start
}

/// A benchmark of `shapes`: given the iteration budget and grain, runs and times it.
type Runner<'a> = Box<dyn Fn(u64, u64) -> Duration + 'a>;

/// Go's `b.N` search, shortened: grow `N` until one run takes a fifth of `target`, then scale
/// it to `target` by the fastest of three runs of that size (a run slowed by another process
/// would otherwise shrink every sample). The grain is Go's: the iterations of about 100 µs,
/// between 1 and 10,000.
fn calibrate(run: &Runner<'_>, target: Duration) -> (u64, u64) {
    let mut n: u64 = 1;
    let mut grain: u64 = 1;
    loop {
        let took = run(n, grain).max(Duration::from_nanos(1));
        grain = ((1e5 * n as f64 / took.as_nanos() as f64) as u64).clamp(1, 10_000);
        if took >= target / 5 || n >= 1 << 40 {
            let best = (0..2).map(|_| run(n, grain)).fold(took, Duration::min);
            let ns = best.as_nanos().max(1) as f64;
            grain = ((1e5 * n as f64 / ns) as u64).clamp(1, 10_000);
            let scaled = (n as f64 * target.as_nanos() as f64 / ns).ceil() as u64;
            return (scaled.max(1), grain);
        }
        let predicted = n as f64 * 1.2 * (target / 5).as_nanos() as f64 / took.as_nanos() as f64;
        n = (predicted as u64).clamp(n + 1, n * 100);
    }
}

/// Calibrates every implementation of one cell, then takes `reps` interleaved timed runs of
/// each and records ns/op.
fn measure_cell(
    opts: &Opts,
    sink: &mut Sink,
    shape: &str,
    threads: usize,
    runners: Vec<(&str, Runner<'_>)>,
) {
    if opts
        .only
        .as_ref()
        .is_some_and(|o| !shape.contains(o.as_str()))
    {
        return;
    }
    let target = opts.sample_time();
    let plans: Vec<(u64, u64)> = runners.iter().map(|(_, r)| calibrate(r, target)).collect();
    let reps = opts.shape_reps.unwrap_or_else(|| opts.reps(21));
    let mut samples = vec![Vec::with_capacity(reps); runners.len()];
    for _ in 0..reps {
        for (i, (_, run)) in runners.iter().enumerate() {
            let (n, grain) = plans[i];
            samples[i].push(run(n, grain).as_nanos() as f64 / n as f64);
        }
    }
    for ((name, _), s) in runners.iter().zip(&samples) {
        sink.record("shapes", shape, threads, name, s);
    }
}

// ---------------------------------------------------------------------------------------------
// Go's six shapes
// ---------------------------------------------------------------------------------------------

fn uncontended<G: Group>(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            true,
            total,
            grain,
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
    })
}

fn uncontended_crossbeam(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            true,
            total,
            grain,
            |_| (),
            |(), n| {
                for _ in 0..n {
                    let wg = CbWaitGroup::new();
                    drop(black_box(wg.clone()));
                    wg.wait();
                }
            },
        )
    })
}

fn add_done<G: Group>(threads: usize, work: bool) -> Runner<'static> {
    Box::new(move |total, grain| {
        let g = G::create();
        run_parallel(
            threads,
            true,
            total,
            grain,
            |_| black_box(0i64),
            |x, n| {
                for _ in 0..n {
                    let g = black_box(&g);
                    g.add1();
                    if work {
                        local_work(x);
                    }
                    g.done();
                }
            },
        )
    })
}

fn add_done_crossbeam(threads: usize, work: bool) -> Runner<'static> {
    Box::new(move |total, grain| {
        let wg = CbWaitGroup::new();
        run_parallel(
            threads,
            true,
            total,
            grain,
            |_| black_box(0i64),
            |x, n| {
                for _ in 0..n {
                    let handle = black_box(wg.clone());
                    if work {
                        local_work(x);
                    }
                    drop(handle);
                }
            },
        )
    })
}

fn wait_zero<G: Group>(threads: usize, work: bool) -> Runner<'static> {
    Box::new(move |total, grain| {
        let g = G::create();
        run_parallel(
            threads,
            true,
            total,
            grain,
            |_| black_box(0i64),
            |x, n| {
                for _ in 0..n {
                    black_box(&g).wait();
                    if work {
                        local_work(x);
                    }
                }
            },
        )
    })
}

fn fresh_thread<G: Group>(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            false,
            total,
            grain,
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
    })
}

fn fresh_thread_crossbeam(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            false,
            total,
            grain,
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
    })
}

/// The floor of the fresh-thread shape: spawn and join, no group.
fn fresh_thread_join_only(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            false,
            total,
            grain,
            |_| (),
            |(), n| {
                for _ in 0..n {
                    thread::spawn(|| {})
                        .join()
                        .expect("the worker does nothing");
                }
            },
        )
    })
}

/// Value of a worker's "go" counter that tells it to exit.
const STOP: u64 = u64::MAX;

/// A worker thread that is already running, polling a "go" counter; each time the counter
/// changes it calls `on_signal` on the shared value once. Pinned to `core`; stopped and joined
/// on drop.
struct PollingWorker<T: Send + Sync + 'static> {
    shared: Arc<(AtomicU64, T)>,
    round: u64,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + Sync + 'static> PollingWorker<T> {
    fn spawn(core: usize, value: T, on_signal: impl Fn(&T) + Send + 'static) -> Self {
        let shared = Arc::new((AtomicU64::new(0), value));
        let running = Arc::new(AtomicU32::new(0));
        let thread = {
            let shared = Arc::clone(&shared);
            let running = Arc::clone(&running);
            thread::spawn(move || {
                pin_to_core(core);
                running.store(1, Ordering::Release);
                let mut seen = 0;
                let mut idle = 0;
                loop {
                    // Acquire: pairs with `signal`'s Release, so the round's `add(1)` (or the
                    // group put in the slot) is visible before our `done`.
                    let now = shared.0.load(Ordering::Acquire);
                    if now == STOP {
                        break;
                    }
                    if now == seen {
                        idle_pause(&mut idle);
                    } else {
                        seen = now;
                        idle = 0;
                        on_signal(&shared.1);
                    }
                }
            })
        };
        // Return only once the worker runs on its core: a new thread can wait a whole time
        // slice for its first turn on a busy machine, and that must not be timed.
        // Yield meanwhile: the new thread starts on this thread's core (it inherits the
        // affinity) and moves to its own only once it runs.
        while running.load(Ordering::Acquire) == 0 {
            thread::yield_now();
        }
        PollingWorker {
            shared,
            round: 0,
            thread: Some(thread),
        }
    }

    #[inline]
    fn signal(&mut self) {
        self.round += 1;
        self.shared.0.store(self.round, Ordering::Release);
    }

    #[inline]
    fn value(&self) -> &T {
        &self.shared.1
    }
}

impl<T: Send + Sync + 'static> Drop for PollingWorker<T> {
    fn drop(&mut self) {
        self.shared.0.store(STOP, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().expect("the worker does not panic");
        }
    }
}

fn handoff<G: Group>(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            true,
            total,
            grain,
            |i| PollingWorker::spawn(i + 1, G::create(), G::done),
            |w, n| {
                for _ in 0..n {
                    w.value().add1();
                    w.signal();
                    w.value().wait();
                }
            },
        )
    })
}

fn handoff_crossbeam(threads: usize) -> Runner<'static> {
    Box::new(move |total, grain| {
        run_parallel(
            threads,
            true,
            total,
            grain,
            |i| {
                PollingWorker::spawn(i + 1, Mutex::new(None::<CbWaitGroup>), |slot| {
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
    })
}

fn go_shapes(opts: &Opts, sink: &mut Sink) {
    for threads in [1, 2] {
        let t = threads;
        measure_cell(
            opts,
            sink,
            "Uncontended",
            t,
            vec![
                ("groupwait", uncontended::<WaitGroup>(t)),
                ("atomic", uncontended::<AtomicGroup>(t)),
                ("crossbeam", uncontended_crossbeam(t)),
                ("condvar", uncontended::<CondvarGroup>(t)),
            ],
        );
        for (shape, work) in [("AddDone", false), ("AddDoneWork", true)] {
            measure_cell(
                opts,
                sink,
                shape,
                t,
                vec![
                    ("groupwait", add_done::<WaitGroup>(t, work)),
                    ("atomic", add_done::<AtomicGroup>(t, work)),
                    ("crossbeam", add_done_crossbeam(t, work)),
                    ("condvar", add_done::<CondvarGroup>(t, work)),
                ],
            );
        }
        for (shape, work) in [("Wait", false), ("WaitWork", true)] {
            measure_cell(
                opts,
                sink,
                shape,
                t,
                vec![
                    ("groupwait", wait_zero::<WaitGroup>(t, work)),
                    ("atomic", wait_zero::<AtomicGroup>(t, work)),
                    ("condvar", wait_zero::<CondvarGroup>(t, work)),
                ],
            );
        }
        measure_cell(
            opts,
            sink,
            "ActuallyWait (fresh thread)",
            t,
            vec![
                ("groupwait", fresh_thread::<WaitGroup>(t)),
                ("atomic", fresh_thread_join_only(t)),
                ("crossbeam", fresh_thread_crossbeam(t)),
                ("condvar", fresh_thread::<CondvarGroup>(t)),
            ],
        );
        // Two measuring threads and two workers on fewer than four cores: spinners must yield.
        let busy_threads = 2 * t;
        YIELD_AFTER.store(
            if busy_threads > cores() {
                OVERSUBSCRIBED
            } else {
                PATIENT
            },
            Ordering::Relaxed,
        );
        measure_cell(
            opts,
            sink,
            "ActuallyWait (hand-off)",
            t,
            vec![
                ("groupwait", handoff::<WaitGroup>(t)),
                ("atomic", handoff::<AtomicGroup>(t)),
                ("crossbeam", handoff_crossbeam(t)),
                ("condvar", handoff::<CondvarGroup>(t)),
            ],
        );
        YIELD_AFTER.store(PATIENT, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Wake latency of a sleeping waiter
// ---------------------------------------------------------------------------------------------

/// One round of the wake-latency benchmark, split by thread: the releasing thread calls `arm`
/// (untimed), lets the waiter start `wait`, waits until the waiter sleeps, then calls
/// `release` (timed from just before it until `wait` returns on the other thread).
trait WakeCase: Send + Sync + 'static {
    fn arm(&self);
    fn wait(&self);
    fn release(&self);
}

impl<G: Group> WakeCase for G {
    fn arm(&self) {
        self.add1();
    }
    fn wait(&self) {
        Group::wait(self);
    }
    fn release(&self) {
        self.done();
    }
}

/// crossbeam: a new group each round; the waiter takes its handle from one slot, the releaser
/// keeps the other handle in the second slot and drops it to release.
#[derive(Default)]
struct CbWake {
    waiter: Mutex<Option<CbWaitGroup>>,
    releaser: Mutex<Option<CbWaitGroup>>,
}

impl WakeCase for CbWake {
    fn arm(&self) {
        let wg = CbWaitGroup::new();
        *self.releaser.lock().unwrap_or_else(PoisonError::into_inner) = Some(wg.clone());
        *self.waiter.lock().unwrap_or_else(PoisonError::into_inner) = Some(wg);
    }
    fn wait(&self) {
        let wg = self
            .waiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        wg.expect("armed").wait();
    }
    fn release(&self) {
        drop(
            self.releaser
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

/// The floor: a raw futex word. 0 = keep sleeping, 1 = released. The waiter never spins.
#[derive(Default)]
struct FutexWake(AtomicU32);

#[cfg(target_os = "linux")]
fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT reads the 4-byte word at a valid, aligned address (an `AtomicU32`
    // borrowed for the whole call) and takes no other pointers (null timeout: no deadline).
    // Spurious returns (EAGAIN, EINTR) are handled by the callers' loops.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

#[cfg(target_os = "linux")]
fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; the word is a live `AtomicU32`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            n,
        );
    }
}

#[cfg(target_os = "linux")]
impl WakeCase for FutexWake {
    fn arm(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
    fn wait(&self) {
        while self.0.load(Ordering::Acquire) == 0 {
            futex_wait(&self.0, 0);
        }
    }
    fn release(&self) {
        self.0.store(1, Ordering::Release);
        futex_wake(&self.0, 1);
    }
}

/// How long the releasing thread stays busy before each release: far longer than any waiter's
/// spin (groupwait's is about 2 µs), so the waiter is asleep in the kernel.
const SETTLE: Duration = Duration::from_micros(100);

/// The waiter's first `returned` value: it is running.
const STARTED: u64 = u64::MAX - 1;

/// Runs `rounds` rounds of `case` with one waiter thread; returns each round's latency in ns.
fn wake_rounds<C: WakeCase>(case: C, rounds: u64) -> Vec<f64> {
    struct Shared<C> {
        case: C,
        armed: AtomicU64,
        returned: AtomicU64,
        stamp: AtomicU64,
        base: Instant,
    }
    let shared = Arc::new(Shared {
        case,
        armed: AtomicU64::new(0),
        returned: AtomicU64::new(0),
        stamp: AtomicU64::new(0),
        base: Instant::now(),
    });
    let waiter = {
        let sh = Arc::clone(&shared);
        thread::spawn(move || {
            pin_to_core(1);
            sh.returned.store(STARTED, Ordering::Release);
            let mut seen = 0;
            loop {
                let mut idle = 0;
                let round = loop {
                    let now = sh.armed.load(Ordering::Acquire);
                    if now != seen {
                        break now;
                    }
                    idle_pause(&mut idle);
                };
                if round == STOP {
                    break;
                }
                seen = round;
                sh.case.wait();
                let t1 = sh.base.elapsed().as_nanos() as u64;
                sh.stamp.store(t1, Ordering::Relaxed);
                // Release: the stamp is visible to whoever sees the round returned.
                sh.returned.store(round, Ordering::Release);
            }
        })
    };
    // Start only once the waiter runs on its core (see `PollingWorker::spawn`).
    while shared.returned.load(Ordering::Acquire) != STARTED {
        thread::yield_now();
    }
    let mut latencies = Vec::with_capacity(rounds as usize);
    for round in 1..=rounds {
        shared.case.arm();
        shared.armed.store(round, Ordering::Release);
        let settle = Instant::now();
        while settle.elapsed() < SETTLE {
            spin_loop();
        }
        let t0 = shared.base.elapsed().as_nanos() as u64;
        shared.case.release();
        while shared.returned.load(Ordering::Acquire) != round {
            spin_loop();
        }
        let t1 = shared.stamp.load(Ordering::Relaxed);
        latencies.push(t1.saturating_sub(t0) as f64);
    }
    shared.armed.store(STOP, Ordering::Release);
    waiter.join().expect("the waiter does not panic");
    latencies
}

/// Two threads waking each other through futexes, each always sleeping in `FUTEX_WAIT` when it
/// has nothing to do: ns per one-way hand-off (a round trip halved).
#[cfg(target_os = "linux")]
fn futex_ping_pong(round_trips: u32) -> f64 {
    // 0: the pinger's turn, 1: the ponger's turn, 2: stop.
    let turn = Arc::new(AtomicU32::new(0));
    let ponger = {
        let turn = Arc::clone(&turn);
        thread::spawn(move || {
            pin_to_core(1);
            pong(&turn);
        })
    };
    fn pong(turn: &AtomicU32) {
        loop {
            let mut now = turn.load(Ordering::Acquire);
            while now == 0 {
                futex_wait(turn, 0);
                now = turn.load(Ordering::Acquire);
            }
            if now == 2 {
                break;
            }
            turn.store(0, Ordering::Release);
            futex_wake(turn, 1);
        }
    }
    let start = Instant::now();
    for _ in 0..round_trips {
        turn.store(1, Ordering::Release);
        futex_wake(&turn, 1);
        while turn.load(Ordering::Acquire) == 1 {
            futex_wait(&turn, 1);
        }
    }
    let took = start.elapsed();
    turn.store(2, Ordering::Release);
    futex_wake(&turn, 1);
    ponger.join().expect("the ponger does not panic");
    took.as_nanos() as f64 / (2.0 * f64::from(round_trips))
}

fn wake(opts: &Opts, sink: &mut Sink) {
    let blocks = opts.reps(15);
    let per_block = 100;
    type Case = (&'static str, fn(u64) -> Vec<f64>);
    let mut cases: Vec<Case> = vec![
        ("groupwait", |r| wake_rounds(WaitGroup::new(), r)),
        ("condvar", |r| wake_rounds(CondvarGroup::new(), r)),
        ("crossbeam", |r| wake_rounds(CbWake::default(), r)),
    ];
    #[cfg(target_os = "linux")]
    cases.push(("futex", |r| wake_rounds(FutexWake::default(), r)));
    let ping_pongs = opts.reps(7);
    // The releasing side runs on a thread pinned to core 0 (the waiters pin themselves to
    // core 1), leaving the main thread's affinity alone for the sections after this one.
    let (samples, ping_pong) = thread::spawn(move || {
        pin_to_core(0);
        let mut samples = vec![Vec::new(); cases.len()];
        for _ in 0..blocks {
            for (i, (_, case)) in cases.iter().enumerate() {
                samples[i].extend(case(per_block));
            }
        }
        #[cfg(target_os = "linux")]
        let ping_pong: Vec<f64> = (0..ping_pongs).map(|_| futex_ping_pong(5_000)).collect();
        #[cfg(not(target_os = "linux"))]
        let ping_pong: Vec<f64> = Vec::new();
        (
            cases
                .into_iter()
                .map(|(name, _)| name)
                .zip(samples)
                .collect::<Vec<_>>(),
            ping_pong,
        )
    })
    .join()
    .expect("the wake benchmarks do not panic");
    for (name, s) in &samples {
        sink.record("wake", "sleeping waiter", 2, name, s);
    }
    if !ping_pong.is_empty() {
        sink.record("wake", "sleeping waiter", 2, "futex ping-pong", &ping_pong);
    }
}

// ---------------------------------------------------------------------------------------------
// Fan-out: N threads, each done, then wait
// ---------------------------------------------------------------------------------------------

type Round = fn(usize) -> Duration;

fn fanout_groupwait(n: usize) -> Duration {
    let g = Arc::new(WaitGroup::new());
    let start = Instant::now();
    g.add(isize::try_from(n).expect("small"));
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        let g = Arc::clone(&g);
        workers.push(thread::spawn(move || g.done()));
    }
    g.wait();
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only calls done");
    }
    took
}

fn fanout_condvar(n: usize) -> Duration {
    let g = Arc::new(CondvarGroup::new());
    let start = Instant::now();
    g.add(n);
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        let g = Arc::clone(&g);
        workers.push(thread::spawn(move || g.done()));
    }
    g.wait();
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only calls done");
    }
    took
}

fn fanout_crossbeam(n: usize) -> Duration {
    let start = Instant::now();
    let wg = CbWaitGroup::new();
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        let handle = wg.clone();
        workers.push(thread::spawn(move || drop(handle)));
    }
    wg.wait();
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only drops its handle");
    }
    took
}

fn fanout_atomic(n: usize) -> Duration {
    let count = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    count.fetch_add(n, Ordering::Release);
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        let count = Arc::clone(&count);
        workers.push(thread::spawn(move || {
            count.fetch_sub(1, Ordering::Release);
        }));
    }
    let mut idle = 0;
    while count.load(Ordering::Acquire) != 0 {
        idle_pause(&mut idle);
    }
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only counts down");
    }
    took
}

fn fanout_scope(n: usize) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {});
        }
    });
    start.elapsed()
}

fn fanout_join(n: usize) -> Duration {
    let start = Instant::now();
    let workers: Vec<_> = (0..n).map(|_| thread::spawn(|| {})).collect();
    for w in workers {
        w.join().expect("the worker does nothing");
    }
    start.elapsed()
}

fn fanout(opts: &Opts, sink: &mut Sink) {
    // Up to 1024 threads at once: the spinning waiter of `atomic` must let them run.
    YIELD_AFTER.store(OVERSUBSCRIBED, Ordering::Relaxed);
    let cases: [(&str, Round); 6] = [
        ("groupwait", fanout_groupwait),
        ("atomic", fanout_atomic),
        ("crossbeam", fanout_crossbeam),
        ("condvar", fanout_condvar),
        ("scope", fanout_scope),
        ("join", fanout_join),
    ];
    let reps = opts.reps(11);
    let min_sample = if opts.quick {
        Duration::from_millis(2)
    } else {
        Duration::from_millis(10)
    };
    for n in [2, 4, 16, 64, 256, 1024] {
        // Rounds per sample: enough for `min_sample`, judged from one warm-up round each.
        let rounds: Vec<u32> = cases
            .iter()
            .map(|(_, round)| {
                let one = round(n).max(Duration::from_micros(1));
                (min_sample.as_nanos() / one.as_nanos()).clamp(1, 1000) as u32
            })
            .collect();
        let mut samples = vec![Vec::with_capacity(reps); cases.len()];
        for _ in 0..reps {
            for (i, (_, round)) in cases.iter().enumerate() {
                let total: Duration = (0..rounds[i]).map(|_| round(n)).sum();
                samples[i].push(total.as_nanos() as f64 / f64::from(rounds[i]));
            }
        }
        for ((name, _), s) in cases.iter().zip(&samples) {
            sink.record("fanout", &n.to_string(), 1, name, s);
        }
    }
    YIELD_AFTER.store(PATIENT, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// Async fan-out: 10,000 tokio tasks
// ---------------------------------------------------------------------------------------------

const TASKS: usize = 10_000;

async fn async_groupwait() -> Duration {
    let wg = Arc::new(WaitGroup::new());
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tokio::spawn(wg.track_owned(async {})));
    }
    wg.wait_async().await;
    start.elapsed()
}

async fn async_task_tracker() -> Duration {
    let tracker = tokio_util::task::TaskTracker::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tracker.spawn(async {}));
    }
    tracker.close();
    tracker.wait().await;
    start.elapsed()
}

async fn async_join_set() -> Duration {
    let mut set = tokio::task::JoinSet::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        set.spawn(async {});
    }
    while let Some(done) = set.join_next().await {
        done.expect("the task does not panic");
    }
    start.elapsed()
}

async fn async_join_handles() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(async {})).collect();
    for h in handles {
        h.await.expect("the task does not panic");
    }
    start.elapsed()
}

fn async_fanout(opts: &Opts, sink: &mut Sink) {
    let runtimes = [
        (
            1,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
        ),
        (
            2,
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("runtime"),
        ),
    ];
    let reps = opts.reps(15);
    for (threads, rt) in &runtimes {
        let names = ["groupwait", "TaskTracker", "JoinSet", "JoinHandles"];
        let round = |i: usize| -> Duration {
            // Inside a task, as a server would spawn: a worker's local queue, not the
            // runtime's injection queue.
            rt.block_on(async move {
                tokio::spawn(async move {
                    match i {
                        0 => async_groupwait().await,
                        1 => async_task_tracker().await,
                        2 => async_join_set().await,
                        _ => async_join_handles().await,
                    }
                })
                .await
                .expect("the round does not panic")
            })
        };
        for i in 0..names.len() {
            round(i); // warm-up: the runtime's queues and the tables grow once
        }
        let mut samples = vec![Vec::with_capacity(reps); names.len()];
        for _ in 0..reps {
            for (i, s) in samples.iter_mut().enumerate() {
                s.push(round(i).as_nanos() as f64);
            }
        }
        for (name, s) in names.iter().zip(&samples) {
            sink.record("async", "10000 tasks", *threads, name, s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Profiling: one shape on one thread, untimed, for `valgrind --tool=callgrind`
// ---------------------------------------------------------------------------------------------

fn profile(shape: &str, imp: &str, iters: u64) {
    fn run<G: Group>(shape: &str, iters: u64) {
        let g = Padded(G::create());
        let mut x = black_box(0i64);
        match shape {
            "uncontended" => {
                for _ in 0..iters {
                    let g = black_box(&g.0);
                    g.add1();
                    g.done();
                    g.wait();
                }
            }
            "adddone" => {
                for _ in 0..iters {
                    let g = black_box(&g.0);
                    g.add1();
                    g.done();
                }
            }
            "wait" => {
                for _ in 0..iters {
                    black_box(&g.0).wait();
                }
            }
            "work" => {
                for _ in 0..iters {
                    local_work(&mut x);
                }
            }
            other => panic!("unknown shape {other} (uncontended, adddone, wait, work)"),
        }
        black_box(x);
    }
    match imp {
        "groupwait" => run::<WaitGroup>(shape, iters),
        "atomic" => run::<AtomicGroup>(shape, iters),
        "condvar" => run::<CondvarGroup>(shape, iters),
        "crossbeam" if shape == "uncontended" => {
            for _ in 0..iters {
                let wg = CbWaitGroup::new();
                drop(black_box(wg.clone()));
                wg.wait();
            }
        }
        other => panic!("unknown implementation {other} (groupwait, atomic, condvar, crossbeam)"),
    }
}
