//! A panicking `wake` in a task group's limit or cancel token costs nobody their wake-up: every
//! other waker is woken, the limit is cancelled, the slot given back and the finishing task's
//! `done` made, then the first panic continues (issue 20, item 5).

mod support;

use groupwait::task_group::TaskGroup;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Instant;
use support::{is_blocked, panic_message, this_thread_state, wait_until};

/// A waker whose `wake` panics.
struct Panics;
impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("a waker panicked");
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counting {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Polls `future` once with `waker` and asserts that it is pending.
#[track_caller]
fn pend<F: Future>(future: Pin<&mut F>, waker: &Waker) {
    assert!(future.poll(&mut Context::from_waker(waker)).is_pending());
}

/// Whether every admitted task of `group` has made its `done` (the group's counter is zero):
/// a wait whose deadline has already passed returns `true` only then.
fn all_done<T, E>(group: &TaskGroup<T, E>) -> bool {
    group.wait_idle_deadline(Instant::now())
}

#[test]
fn a_panicking_waker_in_the_limits_release_does_not_skip_the_finishing_tasks_done() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let holder = group.track(async { Ok(0) });
    let panicking = Waker::from(Arc::new(Panics));
    let mut adder = pin!(group.track_async(async { Ok(1) }));
    pend(adder.as_mut(), &panicking);
    let payload = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(holder)))
        .expect_err("the waker's panic continues out of the task");
    assert_eq!(panic_message(&*payload), "a waker panicked");
    assert!(all_done(&group), "the finishing task's `done` was skipped");
}

#[test]
fn a_panicking_waker_in_the_token_wakes_every_other_waiter_and_the_blocked_adder() {
    let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
    let token = group.token();
    let holder = group.track(async { Ok(0) });
    let (panicking, counting) = (Waker::from(Arc::new(Panics)), Arc::new(Counting::default()));
    let counting_waker = Waker::from(Arc::clone(&counting));
    // Registered in this order: the panicking waker is woken first.
    let mut first = pin!(token.cancelled());
    pend(first.as_mut(), &panicking);
    let mut second = pin!(token.cancelled());
    pend(second.as_mut(), &counting_waker);
    let mut async_adder = pin!(group.track_async(async { Ok(2) }));
    pend(async_adder.as_mut(), &counting_waker);
    // Not a scoped thread: if it never returns, the test fails instead of hanging in a join.
    let (state_tx, state_rx) = std::sync::mpsc::channel();
    let blocked = {
        let group = Arc::clone(&group);
        std::thread::spawn(move || {
            state_tx.send(this_thread_state()).unwrap();
            group.spawn(|| Ok(3));
        })
    };
    let state = state_rx.recv().unwrap();
    // Asleep in the limit (the only place it can block): a cancel before it got there would
    // let it through without the limit's wake-up.
    wait_until("the adder asleep at the limit", || {
        is_blocked(state.as_deref())
    });
    let payload = catch_unwind(AssertUnwindSafe(|| group.cancel()))
        .expect_err("the waker's panic continues out of `cancel`");
    assert_eq!(panic_message(&*payload), "a waker panicked");
    assert_eq!(
        counting.wakes(),
        2,
        "the other `cancelled()` and the async adder are woken"
    );
    // The limit was cancelled: the blocked `spawn` returns (its task is `Cancelled`).
    wait_until("the blocked spawn returned", || blocked.is_finished());
    blocked.join().unwrap();
    futures::executor::block_on(holder);
    assert!(all_done(&group));
}

#[test]
fn a_failing_task_whose_cancellation_meets_a_panicking_waker_still_frees_its_slot_and_is_done() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let token = group.token();
    let failing = group.track(async { Err(()) });
    let panicking = Waker::from(Arc::new(Panics));
    let counting = Arc::new(Counting::default());
    let mut cancelled = pin!(token.cancelled());
    pend(cancelled.as_mut(), &panicking);
    let mut adder = pin!(group.track_async(async { Ok(1) }));
    pend(adder.as_mut(), &Waker::from(Arc::clone(&counting)));
    let payload = catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(failing)))
        .expect_err("the waker's panic continues out of the task");
    assert_eq!(panic_message(&*payload), "a waker panicked");
    assert_eq!(counting.wakes(), 1, "the adder waiting for a slot is woken");
    assert!(all_done(&group), "the failing task's `done` was skipped");
}
