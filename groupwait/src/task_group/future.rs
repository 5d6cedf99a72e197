//! Future tasks: `track` hands back a future to spawn on any executor or to await in place.

use super::error::{TaskError, TrySpawnError};
use super::group::{Admit, InTask, Refused, Shared, TaskGroup, Ticket};
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

/// Polls `fut` for `ticket` (unless the group was cancelled first) and records its outcome.
/// Dropped before completion, the ticket records `Cancelled` (never polled) or `Abandoned`.
async fn run<T, E, F>(mut ticket: Ticket<T, E>, fut: F)
where
    F: Future<Output = Result<T, E>>,
{
    // A task queued by one of the group's own tasks takes its turn for a slot here.
    poll_fn(|cx| ticket.poll_slot(cx)).await;
    if !ticket.start() {
        drop(fut);
        ticket.finish(Err(TaskError::Cancelled));
        return;
    }
    let mut fut = pin!(fut);
    let ticket_ref = &ticket;
    let outcome = poll_fn(|cx| {
        // While polled, this thread runs a task of the group: a wait on the group from
        // inside `fut` panics (and becomes the task's outcome) instead of never completing.
        let _in_task = InTask::enter(ticket_ref);
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => Poll::Ready(Ok(value)),
            Ok(Poll::Ready(Err(error))) => Poll::Ready(Err(TaskError::Failed(error))),
            Err(payload) => Poll::Ready(Err(TaskError::Panicked(payload))),
        }
    })
    .await;
    ticket.finish(outcome);
}

const CLOSED: &str = "TaskGroup: task added after the group was waited on and all its tasks \
                      had finished (the group is closed)";

impl<T, E> TaskGroup<T, E> {
    /// Admits `fut` as a task of the group and returns the future to run it: pass it to
    /// `tokio::spawn`, `smol::spawn`, any executor, or await it in place. Its output is `()`;
    /// the task's value or error goes to the group's wait. A panic while polling `fut` is
    /// caught (after the panic hook reported it) and becomes the task's outcome, so the
    /// executor sees a normal completion.
    ///
    /// At the limit this blocks the calling thread for a slot: from async code use
    /// [`track_async`](Self::track_async) or [`try_track`](Self::try_track). Called from one
    /// of the group's own tasks it does not block: the task is queued, and the returned future
    /// waits for a slot when first polled.
    /// If the group is cancelled before the returned future is first polled, `fut` is not
    /// polled and the outcome is [`TaskError::Cancelled`]; dropping the returned future after
    /// that records [`TaskError::Abandoned`] (which cancels the group).
    ///
    /// # Panics
    ///
    /// If the group is closed (a wait has begun and every task has finished).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let group = TaskGroup::<u32, ()>::new();
    /// for i in 0..3 {
    ///     tokio::spawn(group.track(async move { Ok(i * 10) }));
    /// }
    /// assert_eq!(group.wait_async().await, Ok(vec![0, 10, 20]));
    /// # });
    /// ```
    #[track_caller]
    #[must_use = "the returned future runs the task: spawn it or await it"]
    pub fn track<F>(&self, fut: F) -> impl Future<Output = ()> + use<T, E, F>
    where
        F: Future<Output = Result<T, E>>,
    {
        match self.shared.admit(Admit::Block) {
            Ok(ticket) => task(ticket, fut),
            Err(_) => panic!("{CLOSED}"),
        }
    }

    /// Like [`track`](Self::track), but never blocks: at the limit, or once the group is
    /// closed, `fut` is handed back.
    ///
    /// # Errors
    ///
    /// [`TrySpawnError::Full`] or [`TrySpawnError::Closed`], holding `fut`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let group = TaskGroup::<u8, ()>::with_limit(1);
    /// let first = group.try_track(async { Ok(1) }).unwrap();
    /// assert!(group.try_track(async { Ok(2) }).is_err()); // the slot is taken
    /// first.await;
    /// assert_eq!(group.wait_async().await, Ok(vec![1]));
    /// # });
    /// ```
    pub fn try_track<F>(
        &self,
        fut: F,
    ) -> Result<impl Future<Output = ()> + use<T, E, F>, TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>>,
    {
        match self.shared.admit(Admit::Try) {
            Ok(ticket) => Ok(task(ticket, fut)),
            Err(Refused::Full) => Err(TrySpawnError::Full(fut)),
            Err(Refused::Closed) => Err(TrySpawnError::Closed(fut)),
        }
    }

    /// Like [`track`](Self::track), but at the limit waits asynchronously for a slot (or for
    /// the group's cancellation, which wakes every such waiter), in line with the other
    /// callers. From one of the group's own tasks it completes at once: the task is queued,
    /// and the returned future waits for a slot when first polled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropped before it completes, it holds no slot, has admitted nothing, and
    /// `fut` is dropped.
    ///
    /// # Panics
    ///
    /// If the group is closed, in the poll that completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let group = TaskGroup::<u32, ()>::with_limit(2);
    /// for i in 0..10 {
    ///     tokio::spawn(group.track_async(async move { Ok(i) }).await);
    /// }
    /// assert_eq!(group.wait_async().await.unwrap().len(), 10);
    /// # });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[allow(clippy::async_yields_async)] // by design: it yields the task future to spawn
    pub fn track_async<F>(
        &self,
        fut: F,
    ) -> impl Future<Output = impl Future<Output = ()> + use<T, E, F>> + use<T, E, F>
    where
        F: Future<Output = Result<T, E>>,
    {
        let shared = Arc::clone(&self.shared);
        async move {
            let acquired = match &shared.limit {
                // From inside one of the group's own tasks: admitted at once, queued for a slot
                // (`Shared::admit`), never waiting for a slot that only its own end may free.
                Some(_) if shared.in_own_task() => None,
                None => None,
                Some(limit) => {
                    // Unregisters the waker if this future is dropped while pending.
                    let mut registration = Registration {
                        shared: &shared,
                        key: None,
                    };
                    Some(poll_fn(|cx| limit.poll_acquire(cx, &mut registration.key)).await)
                }
            };
            let how = acquired.map_or(Admit::Block, Admit::Acquired);
            match shared.admit(how) {
                Ok(ticket) => task(ticket, fut),
                Err(_) => panic!("{CLOSED}"),
            }
        }
    }
}

/// The task future for an admission: runs `fut`, or records `Cancelled` at its first poll
/// when admission found the group cancelled (`None`).
async fn task<T, E, F>(ticket: Option<Ticket<T, E>>, fut: F)
where
    F: Future<Output = Result<T, E>>,
{
    match ticket {
        Some(ticket) => run(ticket, fut).await,
        None => drop(fut),
    }
}

/// An async acquirer's waker registration in the limit, removed on drop.
struct Registration<'a, T, E> {
    shared: &'a Arc<Shared<T, E>>,
    key: Option<u64>,
}

impl<T, E> Drop for Registration<'_, T, E> {
    fn drop(&mut self) {
        if let Some(limit) = &self.shared.limit {
            limit.unregister(self.key.take());
        }
    }
}
