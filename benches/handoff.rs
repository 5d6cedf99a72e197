//! Hand-off latency of `WaitGroup`: how long from "the last task is told to finish" until
//! `wait` returns. These numbers are what the waiter's spin bound (`SPIN_LIMIT` in
//! `groupwait/src/wait_group.rs`) is chosen by.
//!
//! One iteration is one round: the measuring thread calls `add(1)`, lets a worker finish, and
//! `wait`s for its `done`. The shapes:
//!
//! * `handoff_spinning_worker`: the worker is already running, polling an atomic "go" flag (a
//!   task that is already scheduled on another core). The `done` lands a cache-line transfer
//!   after the signal, so a short spin catches it and the waiter never sleeps.
//! * `handoff_parked_worker`: the worker is already running but asleep on a channel, so the
//!   signal has to wake it through the kernel before it can call `done`. If the waiter gives up
//!   spinning first, a second kernel wake-up (the waiter's) is added to the round. An untimed
//!   busy pause before each round makes sure the worker really is asleep.
//! * `fresh_thread`: `add(1)`, spawn a thread that calls `done`, `wait`, join. Dominated by
//!   thread creation; a long spin only adds to it, on a machine with few cores, by holding a
//!   core that the new thread and the kernel could use.
//! * `wait_on_zero`: `wait` on an idle group, the single-load fast path.
//! * `spin_rounds`: the cost of `n` rounds of the waiter's spin loop (an `Acquire` load of the
//!   state word and `std::hint::spin_loop`), so a `SPIN_LIMIT` can be read as a duration on
//!   this machine.
//!
//! Run with:
//!
//! ```text
//! cargo bench -p benches --bench handoff
//! cargo bench -p benches --bench handoff -- handoff_parked   # one shape (a name filter)
//! ```
//!
//! Each benchmark stops after two seconds at most. The worker shapes need two free cores to mean
//! anything (the spinning worker keeps one busy); on a loaded or two-core machine, run the
//! comparison several times and compare medians.

use groupwait::WaitGroup;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    divan::main();
}

/// Value of the "go" flag that tells the spinning worker to exit.
const STOP: u64 = u64::MAX;

/// A worker spinning on `go`: each time the value changes, it calls `done` once.
#[divan::bench(sample_count = 5000, sample_size = 64, max_time = 2)]
fn handoff_spinning_worker(bencher: divan::Bencher) {
    let wg = WaitGroup::new();
    let go = AtomicU64::new(0);
    thread::scope(|s| {
        s.spawn(|| {
            let mut seen = 0;
            loop {
                // Acquire: pairs with the Release increment below (the round's `add(1)` is
                // visible before our `done`).
                let now = go.load(Ordering::Acquire);
                if now == STOP {
                    break;
                }
                if now != seen {
                    seen = now;
                    wg.done();
                } else {
                    std::hint::spin_loop();
                }
            }
        });
        bencher.bench_local(|| {
            wg.add(1);
            go.fetch_add(1, Ordering::Release);
            wg.wait();
        });
        go.store(STOP, Ordering::Release);
    });
}

/// How long the measuring thread stays busy, untimed, before each round of
/// `handoff_parked_worker`: long enough for the worker to finish its previous `done`, give up
/// the channel's own short spin, and fall asleep in the kernel.
const SETTLE: Duration = Duration::from_micros(100);

/// A worker blocked on a channel: each message wakes it to call `done` once.
///
/// Without the untimed pause before each round this would measure a ping-pong instead: when
/// the waiter spins long enough to catch each `done`, the next message reaches the worker
/// while the channel is still spinning for it, and neither thread ever sleeps.
#[divan::bench(sample_count = 3000, sample_size = 1, max_time = 2)]
fn handoff_parked_worker(bencher: divan::Bencher) {
    let wg = WaitGroup::new();
    let (tx, rx) = mpsc::channel::<()>();
    let wg = &wg;
    thread::scope(|s| {
        s.spawn(move || {
            while rx.recv().is_ok() {
                wg.done();
            }
        });
        bencher
            .with_inputs(|| {
                // Busy, not asleep: the signalling thread is a running one.
                let start = Instant::now();
                while start.elapsed() < SETTLE {
                    std::hint::spin_loop();
                }
            })
            .bench_local_values(|()| {
                wg.add(1);
                tx.send(())
                    .expect("the worker lives until the sender is dropped");
                wg.wait();
            });
        drop(tx); // ends the worker's loop
    });
}

/// A new thread per round, as in `add(1); go func() { wg.Done() }(); wg.Wait()`.
#[divan::bench(sample_count = 2000, sample_size = 1, max_time = 2)]
fn fresh_thread(bencher: divan::Bencher) {
    let wg = Arc::new(WaitGroup::new());
    bencher.bench_local(|| {
        wg.add(1);
        let worker = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.done())
        };
        wg.wait();
        worker.join().expect("the worker only calls done");
    });
}

/// `wait` on a group whose counter is already zero.
#[divan::bench(max_time = 2)]
fn wait_on_zero(bencher: divan::Bencher) {
    let wg = WaitGroup::new();
    bencher.bench_local(|| black_box(&wg).wait());
}

/// `n` rounds of the waiter's spin loop on a word that never changes: what a `SPIN_LIMIT` of
/// `n` costs in time before the waiter goes to sleep.
#[divan::bench(args = [16, 64, 256, 1024, 4096], max_time = 2)]
fn spin_rounds(bencher: divan::Bencher, n: u32) {
    let word = AtomicU64::new(1);
    bencher.bench_local(|| {
        for _ in 0..black_box(n) {
            if word.load(Ordering::Acquire) == 0 {
                break;
            }
            std::hint::spin_loop();
        }
    });
}
