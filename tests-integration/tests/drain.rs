//! Issue 10, item 3: draining while producers keep adding. `wait_drained` (and its timed and
//! async forms) returns once the counter has been zero after the call began, never trips
//! Go's reuse checks, and never returns before the work added before it is done.

mod support;

use groupwait::WaitGroup;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{wait_until, Stop, PATIENCE};

/// How long the flat-out runs last (short under Miri, which is slow).
const RUN: Duration = if cfg!(miri) {
    Duration::from_millis(200)
} else {
    Duration::from_secs(2)
};

/// How many flushes a run makes at least.
const MIN_FLUSHES: u64 = if cfg!(miri) { 3 } else { 50 };

const PRODUCERS: usize = 3;

/// Producers submit and finish jobs flat out, with no pause; a flusher drains over and over.
/// Every flush must return within the patience (bounded), every job submitted before a flush
/// began must be finished when it returns, and no producer may hit Go's misuse checks (each
/// `add`/`done` here would panic if it did).
#[test]
fn a_flush_waits_for_everything_submitted_before_it_while_producers_run_flat_out() {
    let wg = WaitGroup::new();
    let stop = Stop::default();
    let submitted: [AtomicU64; PRODUCERS] = Default::default();
    let finished: [AtomicU64; PRODUCERS] = Default::default();
    let flushes = std::thread::scope(|s| {
        let _stop = stop.on_drop();
        for p in 0..PRODUCERS {
            let (wg, stop, submitted, finished) = (&wg, &stop, &submitted[p], &finished[p]);
            s.spawn(move || {
                let mut job = 0;
                while !stop.raised() {
                    job += 1;
                    wg.add(1);
                    // Release: pairs with the flusher's Acquire snapshot below; the `add` is
                    // sequenced before, so a snapshotted job is in the counter.
                    submitted.store(job, Ordering::Release);
                    // The job's work: its result is published before its `done`.
                    finished.store(job, Ordering::Relaxed);
                    wg.done();
                }
            });
        }
        let end = Instant::now() + RUN;
        let mut flushes = 0_u64;
        while Instant::now() < end || flushes < MIN_FLUSHES {
            // Acquire: pairs with the producers' Release stores.
            let before: Vec<u64> = submitted
                .iter()
                .map(|s| s.load(Ordering::Acquire))
                .collect();
            assert!(
                wg.wait_drained_timeout(PATIENCE),
                "flush {flushes} did not drain within {PATIENCE:?}"
            );
            for (p, &job) in before.iter().enumerate() {
                // Relaxed suffices: `wait_drained` synchronizes with every `done` it waited
                // for (the claim under test).
                let done = finished[p].load(Ordering::Relaxed);
                assert!(
                    done >= job,
                    "flush {flushes} returned before producer {p}'s job {job} was finished ({done})"
                );
            }
            flushes += 1;
        }
        flushes
    });
    assert!(flushes >= MIN_FLUSHES);
    assert_eq!(wg.count(), 0);
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

/// Several flushers at once share the drain mark; each is released by a zero after its own
/// call began.
#[test]
fn several_flushers_drain_together_while_producers_run_flat_out() {
    let wg = WaitGroup::new();
    let stop = Stop::default();
    let drains = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let _stop = stop.on_drop();
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.raised() {
                    let _job = wg.guard();
                }
            });
        }
        let flushers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..MIN_FLUSHES {
                        assert!(wg.wait_drained_timeout(PATIENCE), "a flush timed out");
                        drains.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for flusher in flushers {
            flusher.join().unwrap();
        }
    });
    assert_eq!(drains.load(Ordering::Relaxed) as u64, 2 * MIN_FLUSHES);
}

/// The drain does not return while the work it waits for is unfinished, and the moment the
/// counter reaches zero it does (a later round beginning at once does not hold it back).
#[test]
fn a_drain_returns_at_the_zero_even_if_the_next_round_starts_at_once() {
    let wg = WaitGroup::new();
    wg.add(1);
    std::thread::scope(|s| {
        let flusher = s.spawn(|| wg.wait_drained_timeout(PATIENCE));
        wait_until("the drain mark is set", || {
            format!("{wg:?}").contains("draining: true")
        });
        // The last `done` and at once the next round's `add`: `wait` would see Go's misuse
        // here; the drain returns `true`.
        wg.done();
        wg.add(1);
        assert!(flusher.join().unwrap());
    });
    wg.done();
}

/// A drain neither re-raises nor consumes a task's panic: it stays for `wait_outcome`.
#[test]
fn a_drain_leaves_the_panic_report_to_the_round_waiters() {
    let wg = Arc::new(WaitGroup::new());
    wg.go(|| panic!("left for the waiter")).join().unwrap();
    wg.wait_drained();
    assert!(wg.wait_drained_deadline(Instant::now()));
    let report = wg.wait_outcome().unwrap_err();
    assert_eq!(report.message(), Some("left for the waiter"));
}

/// A timed-out drain leaves a stale mark at most, which the next zero clears.
#[test]
fn a_drain_that_gives_up_leaves_the_group_usable() {
    let wg = WaitGroup::new();
    wg.add(2);
    let start = Instant::now();
    assert!(!wg.wait_drained_timeout(Duration::from_millis(10)));
    assert!(start.elapsed() >= Duration::from_millis(10));
    wg.done();
    wg.done();
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
    wg.wait();
    assert!(wg.wait_drained_timeout(Duration::ZERO));
}

/// Blocking waiters and drain waiters of the same round are released by the same `done`.
#[test]
fn waiters_and_drainers_of_one_round_are_released_together() {
    let wg = WaitGroup::new();
    wg.add(1);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| wg.wait_timeout(PATIENCE));
        let drainer = s.spawn(|| wg.wait_drained_timeout(PATIENCE));
        wait_until("the waiter registered", || {
            format!("{wg:?}").contains("waiters: 1")
        });
        wg.done();
        assert!(waiter.join().unwrap());
        assert!(drainer.join().unwrap());
    });
}

// ---- async ------------------------------------------------------------------------------

/// The async form on tokio, with producer tasks running flat out (each job's unit is held
/// only while the job runs, never across an `.await`, as a request handler's would be).
#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime is too slow under Miri")]
fn an_async_drain_on_tokio_while_producer_tasks_run_flat_out() {
    let runtime = support::runtime();
    let wg = Arc::new(WaitGroup::new());
    let submitted = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(Stop::default());
    runtime.block_on(async {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let (wg, submitted, finished, stop) = (
                    Arc::clone(&wg),
                    Arc::clone(&submitted),
                    Arc::clone(&finished),
                    Arc::clone(&stop),
                );
                tokio::spawn(async move {
                    while !stop.raised() {
                        {
                            let _job = wg.guard_owned();
                            // AcqRel / Relaxed: counts only; the drain's own ordering is what
                            // the assertion below relies on.
                            submitted.fetch_add(1, Ordering::AcqRel);
                            finished.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let _stop = stop.on_drop();
        for flush in 0..MIN_FLUSHES {
            let before = submitted.load(Ordering::Acquire);
            tokio::time::timeout(PATIENCE, wg.wait_drained_async())
                .await
                .unwrap_or_else(|_| panic!("flush {flush} did not drain within {PATIENCE:?}"));
            assert!(finished.load(Ordering::Relaxed) >= before);
        }
        drop(_stop);
        for producer in producers {
            producer.await.unwrap();
        }
    });
    wg.wait();
}

/// A pending `Drained` dropped (a `select!` that took another branch) leaves nothing that
/// could hold up or wake anyone wrongly; a later drain works.
#[test]
fn a_dropped_pending_drain_future_is_harmless() {
    let wg = WaitGroup::new();
    wg.add(1);
    {
        let mut pending = Box::pin(wg.wait_drained_async());
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(std::future::Future::poll(pending.as_mut(), &mut cx).is_pending());
        assert!(std::future::Future::poll(pending.as_mut(), &mut cx).is_pending());
    }
    wg.done();
    futures::executor::block_on(wg.wait_drained_async());
    wg.wait();
}

/// The server: an acceptor keeps spawning request handlers (under `track_owned`) flat
/// out, one handler panics, and a graceful drain runs while requests still arrive; then the
/// acceptor stops and the shutdown code takes the outcome as a value. Nothing panics in the
/// shutdown path, nothing hangs, and the failure is reported.
#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime is too slow under Miri")]
fn a_server_drains_while_accepting_and_reports_its_panicking_handler() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let handlers = Arc::new(WaitGroup::new());
        let stop = Arc::new(Stop::default());
        let accepted = Arc::new(AtomicU64::new(0));
        let acceptor = {
            let (handlers, stop, accepted) = (
                Arc::clone(&handlers),
                Arc::clone(&stop),
                Arc::clone(&accepted),
            );
            tokio::spawn(async move {
                let mut request = 0_u64;
                while !stop.raised() {
                    request += 1;
                    drop(tokio::spawn(handlers.track_owned(async move {
                        assert!(request != 50, "request {request}: handler bug");
                    })));
                    accepted.store(request, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let _stop = stop.on_drop();
        // Let the server take some requests, the failing one among them.
        tokio::time::timeout(PATIENCE, async {
            while accepted.load(Ordering::Relaxed) < 100 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the acceptor runs");
        // A graceful drain while requests keep arriving: `wait_async` here would be Go's
        // misuse (adds during the release); the drain is not.
        for _ in 0..MIN_FLUSHES {
            tokio::time::timeout(PATIENCE, handlers.wait_drained_async())
                .await
                .expect("the handlers drained");
        }
        // Shutdown: stop accepting, then wait for the rest and take the outcome.
        drop(_stop);
        acceptor.await.unwrap();
        let report = tokio::time::timeout(PATIENCE, handlers.wait_outcome_async())
            .await
            .expect("the handlers finished")
            .unwrap_err();
        assert_eq!(report.count(), 1);
        assert_eq!(report.message(), Some("request 50: handler bug"));
    });
}
