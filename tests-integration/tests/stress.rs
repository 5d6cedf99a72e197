//! Bounded stress: many add/done pairs with waiters that time out at random, and many reuse
//! rounds; every round's waiters return, nothing hangs, the group ends clean.
//!
//! Sizes: by default (CI) 100,000 add/done pairs and 1,000 reuse rounds; with
//! `GROUPWAIT_STRESS=full` the full 1,000,000 pairs and 10,000 rounds; under Miri 1,000 pairs
//! and 20 rounds. Every size runs the same assertions.
//!
//! ```text
//! GROUPWAIT_STRESS=full cargo test --release --test stress -- --nocapture
//! ```

mod support;

use groupwait::WaitGroup;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

/// (add/done pairs, reuse rounds)
fn sizes() -> (u64, usize) {
    if cfg!(miri) {
        (1_000, 20)
    } else if std::env::var("GROUPWAIT_STRESS").as_deref() == Ok("full") {
        (1_000_000, 10_000)
    } else {
        (100_000, 1_000)
    }
}

/// A small xorshift generator: reproducible "random" timeouts without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn add_done_pairs_with_timing_out_waiters() {
    let (pairs, _) = sizes();
    let threads = 4;
    let wg = WaitGroup::new();
    let finished = AtomicBool::new(false);
    let stop = support::Stop::default();
    let completed = AtomicU64::new(0);
    let (released, timed_out) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // One unit held by the main thread until every worker is through, so the counter cannot
    // reach zero before then; waiters that time out meanwhile must leave no trace.
    wg.add(1);
    let start = Barrier::new(2 + threads as usize);
    std::thread::scope(|s| {
        // Stops the waiters also if this thread fails before `finished` is set.
        let _stop = stop.on_drop();
        for t in 0..2_u64 {
            let (wg, finished, stop, released, timed_out) =
                (&wg, &finished, &stop, &released, &timed_out);
            let start = &start;
            s.spawn(move || {
                start.wait();
                let mut rng = Rng(0x9E37_79B9 + t);
                while !finished.load(Ordering::Relaxed) && !stop.raised() {
                    let timeout = Duration::from_nanos(rng.next() % 5_000);
                    if wg.wait_timeout(timeout) {
                        // Only the main thread's last `done` releases, and it sets `finished`
                        // first: a wait that returns `true` synchronized with that `done`,
                        // so it sees the flag, and this thread's loop ends here.
                        assert!(
                            finished.load(Ordering::Relaxed),
                            "a wait returned true while the main thread held its unit"
                        );
                        released.fetch_add(1, Ordering::Relaxed);
                    } else {
                        timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (wg, completed, start) = (&wg, &completed, &start);
                s.spawn(move || {
                    start.wait();
                    for _ in 0..pairs / threads {
                        wg.add(1);
                        completed.fetch_add(1, Ordering::Relaxed);
                        wg.done();
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(wg.count(), 1);
        finished.store(true, Ordering::Relaxed);
        wg.done();
        wg.wait();
    });
    assert_eq!(completed.load(Ordering::Relaxed), pairs / threads * threads);
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
    // Each of the two waiter threads is released at most once (its loop then ends).
    let released = released.load(Ordering::Relaxed);
    assert!(
        released <= 2,
        "{released} waits released, at most 2 possible"
    );
    println!(
        "{pairs} pairs; waits released: {released}, timed out: {}",
        timed_out.load(Ordering::Relaxed)
    );
}

#[test]
fn reuse_rounds_with_mixed_waiters() {
    let (_, rounds) = sizes();
    let wg = WaitGroup::new();
    let work = AtomicU64::new(0);
    let mut rng = Rng(42);
    for round in 1..=rounds as u64 {
        wg.add(3);
        let timeout = Duration::from_micros(rng.next() % 100);
        std::thread::scope(|s| {
            let (wg, work) = (&wg, &work);
            for _ in 0..3 {
                s.spawn(move || {
                    work.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            let blocking = s.spawn(move || {
                wg.wait();
                work.load(Ordering::Relaxed)
            });
            let timed = s.spawn(move || {
                // Retries until released; each attempt that gives up must leave no trace.
                support::wait_until("a timed wait's release", || wg.wait_timeout(timeout));
                work.load(Ordering::Relaxed)
            });
            // Every waiter of this round sees all of this round's work.
            assert!(blocking.join().unwrap() >= round * 3);
            assert!(timed.join().unwrap() >= round * 3);
            wg.wait();
        });
        assert_eq!(work.load(Ordering::Relaxed), round * 3);
        assert_eq!(wg.count(), 0);
    }
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}
