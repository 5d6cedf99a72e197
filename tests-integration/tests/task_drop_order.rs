//! A task's future is dropped before the wait that its end releases returns (issue 20, item 2):
//! what the future owns (a span, a socket, a timer entry, a guard) is gone once `wait` or
//! `wait_async` returns, for `TaskGroup::track` and `WaitGroup::track_owned` alike. And what
//! the future's destructor does is still part of the task: its panic is the task's outcome,
//! and a wait on the group from it panics instead of waiting for itself.

mod support;

use groupwait::task_group::TaskGroup;
use groupwait::WaitGroup;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use support::{runtime, wait_until, PATIENCE};

/// A future that is ready at its first poll but, like a future holding a span, a timer entry
/// or a socket, gives back what it owns only when dropped: its destructor sets `dropped`.
///
/// If the group already counts the task as finished when the destructor starts (the order
/// these tests rule out), the destructor first waits, bounded, until the main thread says its
/// wait returned: so the wrong order fails the assertion every time, not only when the
/// scheduler happens to run the waiter first.
struct OwnsUntilDropped<T> {
    value: Option<T>,
    /// Whether the group counts this task as finished already.
    finished: Box<dyn Fn() -> bool + Send>,
    dropped: Arc<AtomicBool>,
    wait_returned: Arc<AtomicBool>,
}

impl<T: Unpin> Future for OwnsUntilDropped<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        Poll::Ready(self.value.take().expect("polled once"))
    }
}

impl<T> Drop for OwnsUntilDropped<T> {
    fn drop(&mut self) {
        if (self.finished)() {
            let returned = &self.wait_returned;
            wait_until("the main thread's wait to return", || {
                returned.load(Ordering::SeqCst)
            });
        }
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// The flags of one test: set by the future's destructor, and by the main thread after its
/// wait.
#[derive(Default, Clone)]
struct Flags {
    dropped: Arc<AtomicBool>,
    wait_returned: Arc<AtomicBool>,
}

impl Flags {
    fn future<T>(
        &self,
        value: T,
        finished: impl Fn() -> bool + Send + 'static,
    ) -> OwnsUntilDropped<T> {
        OwnsUntilDropped {
            value: Some(value),
            finished: Box::new(finished),
            dropped: Arc::clone(&self.dropped),
            wait_returned: Arc::clone(&self.wait_returned),
        }
    }

    /// Called right after the wait returned: whether the future was dropped by then. Then
    /// lets a destructor that is holding on (the wrong order) finish.
    fn dropped_when_the_wait_returned(&self) -> bool {
        let dropped = self.dropped.load(Ordering::SeqCst);
        self.wait_returned.store(true, Ordering::SeqCst);
        dropped
    }
}

#[test]
fn task_group_wait_returns_after_the_task_future_is_dropped() {
    let rt = runtime();
    let group = Arc::new(TaskGroup::<u8, ()>::new());
    let flags = Flags::default();
    let observed = Arc::clone(&group);
    let task = rt.spawn(group.track(flags.future(Ok(1), move || observed.running() == 0)));
    assert_eq!(group.wait(), Ok(vec![1]));
    assert!(
        flags.dropped_when_the_wait_returned(),
        "the wait returned while the task's future still existed"
    );
    rt.block_on(task).unwrap();
}

#[test]
fn task_group_wait_async_returns_after_the_task_future_is_dropped() {
    let rt = runtime();
    let group = Arc::new(TaskGroup::<u8, ()>::new());
    let flags = Flags::default();
    let observed = Arc::clone(&group);
    // The task runs on a worker thread; the wait on this thread (`block_on`).
    let task = rt.spawn(group.track(flags.future(Ok(2), move || observed.running() == 0)));
    assert_eq!(rt.block_on(group.wait_async()), Ok(vec![2]));
    assert!(
        flags.dropped_when_the_wait_returned(),
        "wait_async returned while the task's future still existed"
    );
    rt.block_on(task).unwrap();
}

#[test]
fn track_owned_wait_async_returns_after_the_future_is_dropped() {
    let rt = runtime();
    let wg = Arc::new(WaitGroup::new());
    let flags = Flags::default();
    let observed = Arc::clone(&wg);
    let task = rt.spawn(wg.track_owned(flags.future((), move || observed.count() == 0)));
    rt.block_on(wg.wait_async());
    assert!(
        flags.dropped_when_the_wait_returned(),
        "wait_async returned while the tracked future still existed"
    );
    rt.block_on(task).unwrap();
}

/// Ready at once; its destructor panics.
struct PanicsWhenDropped;

impl Future for PanicsWhenDropped {
    type Output = Result<u8, ()>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(3))
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("destructor boom");
    }
}

#[test]
fn a_panic_in_a_task_futures_destructor_is_the_tasks_outcome() {
    let rt = runtime();
    let group = TaskGroup::<u8, ()>::new();
    let task = rt.spawn(group.track(PanicsWhenDropped));
    let outcome = group.wait();
    // Caught like a panic of its poll: the executor sees the task complete normally.
    rt.block_on(task)
        .expect("the task completes for its executor");
    let error = outcome.expect_err("the destructor's panic is the task's outcome");
    assert_eq!(error.panic_message(), Some("destructor boom"), "{error:?}");
}

#[test]
fn a_wait_from_a_task_futures_destructor_panics_instead_of_waiting_for_itself() {
    /// Ready at once; its destructor waits on its own group (bounded, so a build that lets
    /// the wait through fails the assertion below after [`PATIENCE`] instead of hanging).
    struct WaitsWhenDropped(Arc<TaskGroup<u8, ()>>);
    impl Future for WaitsWhenDropped {
        type Output = Result<u8, ()>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(Ok(4))
        }
    }
    impl Drop for WaitsWhenDropped {
        fn drop(&mut self) {
            self.0.wait_idle_deadline(Instant::now() + PATIENCE);
        }
    }
    let group = Arc::new(TaskGroup::<u8, ()>::new());
    futures::executor::block_on(group.track(WaitsWhenDropped(Arc::clone(&group))));
    let error = group
        .wait()
        .expect_err("the wait in the destructor panicked, as in the task's poll");
    assert!(
        error
            .panic_message()
            .is_some_and(|m| m.contains("wait for itself")),
        "{error:?}"
    );
}
