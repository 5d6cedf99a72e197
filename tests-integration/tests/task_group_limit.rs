//! The limit's line (issue 20, items 3 and 4): a freed slot goes to the longest-waiting caller
//! and wakes only that one; a slot handed to a waiter that is dropped goes on to the next; and
//! a task adding to its own group at the limit is queued instead of waiting for a slot only
//! its own end could free.

mod support;

use groupwait::task_group::{TaskError, TaskGroup};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use support::{runtime, PATIENCE};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn counting() -> (Arc<Counting>, Waker) {
    let counting = Arc::new(Counting::default());
    let waker = Waker::from(Arc::clone(&counting));
    (counting, waker)
}

fn wakes(counting: &Counting) -> usize {
    counting.0.load(Ordering::Relaxed)
}

fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

#[test]
fn a_freed_slot_wakes_only_the_first_in_line_and_is_handed_to_it() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let holder = group.track(async { Ok(0) });
    let (first, first_waker) = counting();
    let (second, second_waker) = counting();
    let mut a = pin!(group.track_async(async { Ok(1) }));
    let mut b = pin!(group.track_async(async { Ok(2) }));
    assert!(poll(a.as_mut(), &first_waker).is_pending());
    assert!(poll(b.as_mut(), &second_waker).is_pending());
    // A newcomer does not jump the line, even a non-blocking one.
    assert!(group.try_track(async { Ok(9) }).is_err());
    futures::executor::block_on(holder);
    assert_eq!(
        (wakes(&first), wakes(&second)),
        (1, 0),
        "one slot freed: one waiter woken, the first"
    );
    // The slot is the first one's, whatever the order of the polls.
    assert!(poll(b.as_mut(), &second_waker).is_pending());
    let Poll::Ready(task_a) = poll(a.as_mut(), &first_waker) else {
        panic!("the first in line was handed the slot");
    };
    futures::executor::block_on(task_a);
    assert_eq!(wakes(&second), 1);
    let Poll::Ready(task_b) = poll(b.as_mut(), &second_waker) else {
        panic!("the second in line was handed the slot");
    };
    futures::executor::block_on(task_b);
    assert_eq!(group.wait(), Ok(vec![0, 1, 2]));
}

#[test]
fn a_slot_handed_to_a_waiter_dropped_before_its_poll_goes_to_the_next() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let holder = group.track(async { Ok(0) });
    let (first, first_waker) = counting();
    let (second, second_waker) = counting();
    let mut a = Box::pin(group.track_async(async { Ok(1) }));
    let mut b = pin!(group.track_async(async { Ok(2) }));
    assert!(poll(a.as_mut(), &first_waker).is_pending());
    assert!(poll(b.as_mut(), &second_waker).is_pending());
    futures::executor::block_on(holder);
    assert_eq!(wakes(&first), 1);
    drop(a); // woken, handed the slot, cancelled before it looked
    assert_eq!(wakes(&second), 1, "the slot went on to the next in line");
    let Poll::Ready(task_b) = poll(b.as_mut(), &second_waker) else {
        panic!("the second in line was handed the slot");
    };
    futures::executor::block_on(task_b);
    assert_eq!(group.wait(), Ok(vec![0, 2]));
}

#[test]
fn a_thread_task_at_a_limit_of_one_spawning_a_child_does_not_deadlock() {
    let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
    let inner = Arc::clone(&group);
    group.spawn(move || {
        inner.spawn(|| Ok(2)); // queued: starts when this task ends
        Ok(1)
    });
    assert_eq!(group.wait_timeout(PATIENCE), Some(Ok(vec![1, 2])));
}

/// The docs' directory walker: two tasks at a limit of two, each adding a child.
#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime is too slow under Miri")]
fn two_future_tasks_at_a_limit_of_two_each_adding_a_child_do_not_deadlock() {
    runtime().block_on(async {
        let group = Arc::new(TaskGroup::<u32, ()>::with_limit(2));
        for dir in 0..2 {
            let inner = Arc::clone(&group);
            let parent = group
                .track_async(async move {
                    let child = inner.track_async(async move { Ok(10 + dir) }).await;
                    tokio::spawn(child);
                    Ok(dir)
                })
                .await;
            tokio::spawn(parent);
        }
        let mut values = tokio::time::timeout(PATIENCE, group.wait_async())
            .await
            .expect("the group finished")
            .unwrap();
        values.sort_unstable();
        assert_eq!(values, [0, 1, 10, 11]);
    });
}

#[test]
fn a_queued_child_of_a_cancelled_group_is_cancelled_not_stuck() {
    let group = Arc::new(TaskGroup::<u8, &str>::with_limit(1));
    let inner = Arc::clone(&group);
    group.spawn(move || {
        inner.spawn(|| Ok(2)); // queued behind this task, which fails
        Err("parent failed")
    });
    let outcomes = wait_all_bounded(&group);
    assert!(matches!(
        outcomes[..],
        [
            Err(TaskError::Failed("parent failed")),
            Err(TaskError::Cancelled)
        ]
    ));
}

/// `wait_all`, bounded: fails the test instead of hanging if the group never finishes.
fn wait_all_bounded<T, E>(group: &TaskGroup<T, E>) -> Vec<Result<T, TaskError<E>>> {
    assert!(
        group.wait_idle_deadline(std::time::Instant::now() + PATIENCE),
        "the group did not finish within {PATIENCE:?}"
    );
    group.wait_all()
}
