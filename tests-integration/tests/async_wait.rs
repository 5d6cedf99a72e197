//! Async waiters: any executor, mixed with blocking waiters, cancel safe, nothing leaked.

mod support;

use groupwait::{Wait, WaitGroup};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;
use support::wait_for_waiters;

const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<Wait<'static>>();

fn assert_send<T: Send>(t: T) -> T {
    t
}

/// Miri is slow: smaller sizes there, the same assertions.
const fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        full
    }
}

/// A waker that counts its wake-ups; `Arc::strong_count` of it tells how many clones of it are
/// alive, i.e. how many registrations still hold it.
#[derive(Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

/// Asserts that the group is idle: counter zero, no waiter registered, no panic pending.
#[track_caller]
fn assert_idle(wg: &WaitGroup) {
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

fn poll_once(fut: &mut Wait<'_>, waker: &Waker) -> Poll<()> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

#[test]
fn tokio_multi_thread_fan_out_of_ten_thousand_tasks() {
    let tasks = size(10_000, 50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let wg = Arc::new(WaitGroup::new());
        let finished = Arc::new(AtomicUsize::new(0));
        for i in 0..tasks {
            let finished = Arc::clone(&finished);
            tokio::spawn(wg.track_owned(async move {
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
                finished.fetch_add(1, Ordering::Relaxed);
            }));
        }
        assert_send(wg.wait_async()).await;
        assert_eq!(finished.load(Ordering::Relaxed), tasks);
        assert_eq!(wg.count(), 0);
    });
}

#[test]
fn tokio_current_thread_with_a_timer_timeout() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        static WG: WaitGroup = WaitGroup::new();
        // The tracked task cannot finish before `finish` is sent: the timeout must fire first.
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(WG.track(async { finished.await.unwrap() }));
        let early = tokio::time::timeout(Duration::from_millis(1), WG.wait_async()).await;
        assert!(early.is_err(), "the tracked task is still running");
        assert_eq!(support::waiters(&WG), 0, "{WG:?}");
        finish.send(()).unwrap();
        // Not under a tokio timeout: that re-polls at its deadline and would hide a lost
        // wake-up; a hang here is stopped and named by the runner's per-test limit.
        WG.wait_async().await;
        handle.await.unwrap();
        assert_eq!(WG.count(), 0);
    });
}

#[test]
fn futures_executor_with_thread_workers() {
    let wg = WaitGroup::new();
    let sum = AtomicUsize::new(0);
    wg.add(4);
    std::thread::scope(|s| {
        for i in 1..=4 {
            let (wg, sum) = (&wg, &sum);
            s.spawn(move || {
                sum.fetch_add(i, Ordering::Relaxed);
                wg.done();
            });
        }
        futures::executor::block_on(wg.wait_async());
        assert_eq!(sum.load(Ordering::Relaxed), 10);
    });
}

#[test]
fn async_executor_runs_tracked_tasks_and_a_waiter() {
    let wg = WaitGroup::new();
    let finished = AtomicUsize::new(0);
    let executor = async_executor::Executor::new();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            executor.spawn(wg.track(async {
                futures::future::ready(()).await;
                finished.fetch_add(1, Ordering::Relaxed);
            }))
        })
        .collect();
    futures::executor::block_on(executor.run(async {
        wg.wait_async().await;
        for task in tasks {
            task.await;
        }
    }));
    assert_eq!(finished.load(Ordering::Relaxed), 100);
}

#[test]
fn blocking_and_async_waiters_are_released_by_the_same_done() {
    let wg = WaitGroup::new();
    let released = AtomicUsize::new(0);
    wg.add(1);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                wg.wait();
                released.fetch_add(1, Ordering::Relaxed);
            });
        }
        s.spawn(|| {
            // Fails (instead of hanging) if the release does not wake these tasks.
            support::block_on_woken("three async waiters", async {
                let waits = (0..3).map(|_| async {
                    wg.wait_async().await;
                    released.fetch_add(1, Ordering::Relaxed);
                });
                futures::future::join_all(waits).await;
            })
        });
        // All six register before the one `done`, so that the release serves both kinds.
        wait_for_waiters(&wg, 6);
        assert_eq!(released.load(Ordering::Relaxed), 0);
        wg.done();
    });
    assert_eq!(released.load(Ordering::Relaxed), 6);
}

#[test]
fn cancelled_waits_interleaved_with_real_ones_leak_nothing() {
    let wg = WaitGroup::new();
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counting));
    for _ in 0..size(1000, 20) {
        wg.add(1);
        let mut real = wg.wait_async();
        assert!(poll_once(&mut real, &waker).is_pending());
        let mut cancelled = wg.wait_async();
        assert!(poll_once(&mut cancelled, &waker).is_pending());
        drop(cancelled);
        let wakes_before = counting.wakes.load(Ordering::Relaxed);
        wg.done();
        // The real waiter's wake-up was not swallowed by the cancelled one.
        assert_eq!(counting.wakes.load(Ordering::Relaxed), wakes_before + 1);
        assert!(poll_once(&mut real, &waker).is_ready());
    }
    // No registration holds a clone of the waker, and the group counts no waiter.
    drop(waker);
    assert_eq!(Arc::strong_count(&counting), 1);
    assert_idle(&wg);
}

#[test]
fn waiters_dropped_while_done_runs_leave_nothing_behind() {
    let wg = WaitGroup::new();
    let counting = Arc::new(CountingWaker::default());
    for _ in 0..size(2000, 10) {
        wg.add(1);
        let waker = Waker::from(Arc::clone(&counting));
        let mut pending: Vec<_> = (0..4).map(|_| wg.wait_async()).collect();
        for f in &mut pending {
            assert!(poll_once(f, &waker).is_pending());
        }
        std::thread::scope(|s| {
            s.spawn(|| drop(pending));
            s.spawn(|| wg.done());
        });
        drop(waker);
        assert_eq!(Arc::strong_count(&counting), 1);
        assert_idle(&wg);
    }
}

#[test]
fn wait_async_on_zero_is_ready_at_first_poll() {
    let wg = WaitGroup::new();
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    let mut fut = wg.wait_async();
    assert!(poll_once(&mut fut, &waker).is_ready());
    assert!(format!("{fut:?}").contains("registered: false"));
}

#[test]
fn reuse_over_many_async_rounds() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let wg = Arc::new(WaitGroup::new());
        let total = Arc::new(AtomicUsize::new(0));
        for round in 1..=size(300, 5) {
            for _ in 0..8 {
                let total = Arc::clone(&total);
                tokio::spawn(wg.track_owned(async move {
                    tokio::task::yield_now().await;
                    total.fetch_add(1, Ordering::Relaxed);
                }));
            }
            let other = tokio::spawn({
                let wg = Arc::clone(&wg);
                async move { wg.wait_async().await }
            });
            wg.wait_async().await;
            other.await.unwrap();
            assert_eq!(total.load(Ordering::Relaxed), round * 8);
        }
    });
}

#[test]
fn a_panicking_tracked_future_is_reraised_by_the_waiter() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let wg = Arc::new(WaitGroup::new());
    let task = runtime.spawn(wg.track_owned(async {
        tokio::task::yield_now().await;
        std::panic::panic_any(7_u8);
    }));
    let caught = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            wg.wait_async().await;
        })
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<u8>(), Some(&7));
    // The task itself failed too. The round's report stays for its other waiters until the
    // next round's `add`, which starts clean.
    assert!(runtime.block_on(task).unwrap_err().is_panic());
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: true }"
    );
    wg.add(1);
    wg.done();
    wg.wait();
}

#[test]
fn a_dropped_tracked_future_calls_done() {
    let wg = WaitGroup::new();
    let tracked = wg.track(std::future::pending::<()>());
    assert_eq!(wg.count(), 1);
    drop(tracked);
    assert_eq!(wg.count(), 0);
    wg.wait();
}

#[test]
fn a_tracked_future_is_dropped_before_its_done() {
    /// Reads the group's counter when dropped.
    struct SeesCount<'a>(&'a WaitGroup, &'a AtomicUsize);
    impl Drop for SeesCount<'_> {
        fn drop(&mut self) {
            self.1.store(self.0.count() + 1, Ordering::Relaxed);
        }
    }
    let wg = WaitGroup::new();
    let seen = AtomicUsize::new(0);
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    // Cancelled after a poll: the future holds `SeesCount` across its await.
    let mut tracked = Box::pin(wg.track(async {
        let _sees = SeesCount(&wg, &seen);
        std::future::pending::<()>().await;
    }));
    assert!(tracked
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(tracked);
    // The future's destructor ran while it was still counted: a waiter released by its
    // `done` finds what the future held already given back.
    assert_eq!(seen.load(Ordering::Relaxed), 1 + 1);
    assert_eq!(wg.count(), 0);
    wg.wait();
}

#[test]
fn tracked_futures_are_send_when_their_future_is() {
    let wg = Arc::new(WaitGroup::new());
    let owned = assert_send(wg.track_owned(async {}));
    let borrowed = assert_send(wg.track(async {}));
    futures::executor::block_on(async {
        owned.await;
        borrowed.await;
    });
    assert_eq!(wg.count(), 0);
}

#[test]
fn a_panicking_borrowed_tracked_future_is_reraised_by_the_waiter() {
    let wg = WaitGroup::new();
    let tracked = wg.track(async { std::panic::panic_any(11_u16) });
    // The tracked future's own poll fails, with the short message saying where the payload went.
    let own = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(tracked))).unwrap_err();
    assert!(own
        .downcast_ref::<&str>()
        .is_some_and(|m| m.contains("tracked future panicked")));
    // The original payload waits for this group's waiter.
    let caught = catch_unwind(AssertUnwindSafe(|| wg.wait())).unwrap_err();
    assert_eq!(caught.downcast_ref::<u16>(), Some(&11));
    // Kept for the round's other waiters until the next round's `add`.
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: true }"
    );
}

// ---------------------------------------------------------------------------------------------
// Regression tests for issue 9 (each failed on the table as it was before the fix).

/// A waker that does nothing.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Ends `rounds` rounds of `wg`, each with one async waiter released by its `done`: each advances
/// the group's 7-bit generation by one.
fn rounds_with_an_async_waiter(wg: &WaitGroup, rounds: usize) {
    let waker = Waker::from(Arc::new(Noop));
    for _ in 0..rounds {
        wg.add(1);
        let mut waiter = wg.wait_async();
        assert!(poll_once(&mut waiter, &waker).is_pending());
        wg.done();
        assert!(poll_once(&mut waiter, &waker).is_ready());
    }
}

/// A `Wait` registered, released (woken) and then left alone: the stale future of item 2.
fn a_released_wait<'a>(wg: &'a WaitGroup, counting: &Arc<CountingWaker>) -> Wait<'a> {
    let waker = Waker::from(Arc::clone(counting));
    wg.add(1);
    let mut stale = wg.wait_async();
    assert!(poll_once(&mut stale, &waker).is_pending());
    wg.done();
    assert_eq!(
        counting.wakes.load(Ordering::Relaxed),
        1,
        "the release woke it"
    );
    stale
}

/// Issue 9, item 2: a released `Wait` polled only after 128 more rounds (the 7-bit generation
/// is back at its own value) on an idle group completes; it used to stay pending forever.
#[test]
fn a_released_wait_polled_128_rounds_later_is_ready() {
    let wg = WaitGroup::new();
    let counting = Arc::new(CountingWaker::default());
    let mut stale = a_released_wait(&wg, &counting);
    rounds_with_an_async_waiter(&wg, 127);
    let waker = Waker::from(Arc::clone(&counting));
    assert!(
        poll_once(&mut stale, &waker).is_ready(),
        "a released Wait stays pending once the generation wrapped"
    );
    drop((stale, waker));
    assert_eq!(Arc::strong_count(&counting), 1, "a waker was left behind");
    assert_idle(&wg);
}

/// Issue 9, item 2: a released `Wait` dropped 128 rounds later, during a round with a legal
/// blocking waiter, must not take that waiter's count (the round's last `done` then skipped the
/// release and the correct `wait` never returned).
#[test]
fn a_released_wait_dropped_128_rounds_later_leaves_a_waiters_count_alone() {
    let wg = WaitGroup::new();
    let counting = Arc::new(CountingWaker::default());
    let stale = a_released_wait(&wg, &counting);
    rounds_with_an_async_waiter(&wg, 127);
    wg.add(1);
    std::thread::scope(|s| {
        // Bounded: if the count was taken, this gives up after the patience and the
        // assertion below has already failed the test.
        let waiter = s.spawn(|| wg.wait_timeout(support::PATIENCE));
        support::wait_until("the thread waiter registered", || {
            format!("{wg:?}").contains("waiters: 1")
        });
        drop(stale);
        assert!(
            format!("{wg:?}").contains("waiters: 1"),
            "the stale Wait's drop took the thread waiter's count: {wg:?}"
        );
        wg.done();
        assert!(
            waiter.join().unwrap(),
            "the correct waiter was not released"
        );
    });
    assert_eq!(Arc::strong_count(&counting), 1, "a waker was left behind");
    assert_idle(&wg);
}

/// A task owned only by its wakers that holds a pending `Wait` of the same group: when its last
/// waker is dropped, its destructor drops that `Wait`, which enters the crate (item 3).
struct TaskHoldingAWait {
    _wait: Wait<'static>,
}

impl Wake for TaskHoldingAWait {
    fn wake(self: Arc<Self>) {}
}

/// A pending `Wait` on `wg` held by a [`TaskHoldingAWait`], and a waker of that task (its only
/// reference).
fn waker_of_a_task_holding_a_wait(wg: &'static WaitGroup) -> Waker {
    let mut inner = wg.wait_async();
    assert!(poll_once(&mut inner, &Waker::from(Arc::new(Noop))).is_pending());
    Waker::from(Arc::new(TaskHoldingAWait { _wait: inner }))
}

/// Runs `scenario` on a helper thread and waits (bounded) for it to finish: a self-deadlock in
/// the crate fails the test instead of hanging it (the deadlocked thread is then left behind;
/// it cannot be joined).
fn finishes(what: &str, scenario: impl FnOnce() + Send + 'static) {
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let helper = std::thread::spawn({
        let finished = Arc::clone(&finished);
        move || {
            scenario();
            finished.store(true, Ordering::Release);
        }
    });
    support::wait_until(what, || {
        finished.load(Ordering::Acquire) || helper.is_finished()
    });
    helper.join().unwrap();
}

/// Issue 9, item 3: re-polling with a new waker drops the old one; if that drop ends a task
/// holding another `Wait` of the group, the crate is re-entered. It used to happen under the
/// bucket lock (`clone_from`), a self-deadlock.
#[test]
fn a_waker_replaced_by_a_re_poll_may_re_enter_the_crate() {
    static WG: WaitGroup = WaitGroup::new();
    WG.add(1);
    finishes("the re-poll with a new waker returned", || {
        let mut outer = WG.wait_async();
        assert!(poll_once(&mut outer, &waker_of_a_task_holding_a_wait(&WG)).is_pending());
        // The table now holds the task's last waker; replacing it ends the task.
        let other = Waker::from(Arc::new(Noop));
        assert!(poll_once(&mut outer, &other).is_pending());
        assert!(format!("{WG:?}").contains("waiters: 1"), "{WG:?}");
        drop(outer);
    });
    WG.done();
    assert_eq!(
        format!("{WG:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

/// Issue 9, item 3, the other ways a stored waker leaves the table: the release's wake-up and a
/// cancellation both let go of it outside the lock.
#[test]
fn a_waker_dropped_by_the_release_or_a_cancel_may_re_enter_the_crate() {
    static WG: WaitGroup = WaitGroup::new();
    finishes("the release and the cancel returned", || {
        // Released: the wake-up consumes the task's last waker.
        WG.add(1);
        let mut released = WG.wait_async();
        assert!(poll_once(&mut released, &waker_of_a_task_holding_a_wait(&WG)).is_pending());
        WG.done();
        assert!(poll_once(&mut released, &Waker::from(Arc::new(Noop))).is_ready());
        // Cancelled: the drop of the pending `Wait` drops the task's last waker.
        WG.add(1);
        let mut cancelled = WG.wait_async();
        assert!(poll_once(&mut cancelled, &waker_of_a_task_holding_a_wait(&WG)).is_pending());
        drop(cancelled);
        assert!(format!("{WG:?}").contains("waiters: 0"), "{WG:?}");
        WG.done();
    });
    assert_eq!(
        format!("{WG:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

/// A waker whose `wake` panics.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any("issue 9 item 4: this waker panics");
    }
}

/// Issue 9, item 4: one panicking `wake` used to lose every other wake-up of the release (the
/// rest of its batch and every later batch: 0 of 40 woken). Now all are woken, then the panic
/// continues out of `done`.
#[test]
fn a_panicking_waker_does_not_cost_the_others_their_wake_up() {
    let wg = WaitGroup::new();
    wg.add(1);
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counting));
    let mut waits: Vec<_> = (0..41).map(|_| wg.wait_async()).collect();
    for (i, wait) in waits.iter_mut().enumerate() {
        let this_waker = if i == 20 {
            Waker::from(Arc::new(PanickingWaker))
        } else {
            waker.clone()
        };
        assert!(poll_once(wait, &this_waker).is_pending());
    }
    let payload = catch_unwind(AssertUnwindSafe(|| wg.done())).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"issue 9 item 4: this waker panics")
    );
    assert_eq!(
        counting.wakes.load(Ordering::Relaxed),
        40,
        "the other waiters' wake-ups were lost"
    );
    for wait in &mut waits {
        assert!(poll_once(wait, &waker).is_ready());
    }
    drop((waits, waker));
    assert_eq!(Arc::strong_count(&counting), 1, "a waker was left behind");
    assert_idle(&wg);
}
