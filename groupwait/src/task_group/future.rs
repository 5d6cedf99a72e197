//! Future tasks: `track` hands back a future to spawn on any executor or to await in place.

use super::error::{TaskError, TrySpawnError};
use super::group::{Admit, InTask, Refused, Shared, TaskGroup, Ticket};
use super::pending::Name;
use pin_project_lite::pin_project;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pin_project! {
    /// The future a task of the group runs in: `fut` and its ticket, each held once.
    ///
    /// Hand-written rather than an `async fn`, which held `fut` twice (its argument and the
    /// pinned copy it polled); the pin projection is `pin-project-lite`'s, so this crate's
    /// sources stay free of `unsafe`. The ticket is `None` when admission found the group
    /// cancelled (and recorded `Cancelled`); `Done` once `fut` is dropped (its tag is a spare
    /// bit pattern of the ticket, so `Done` costs no space).
    #[project = TaskProj]
    enum Task<T, E, F> {
        // `fut` before `ticket`: dropped unfinished, the fields drop in this order, so `fut`
        // is gone before the ticket records `Cancelled` or `Abandoned` and ends (the end that
        // may release the wait).
        Running { #[pin] fut: F, ticket: Option<Ticket<T, E>> },
        Done,
    }
}

impl<T, E, F> Task<T, E, F> {
    /// The task future for an admission (`None`: the group was cancelled).
    fn new(ticket: Option<Ticket<T, E>>, fut: F) -> Self {
        Task::Running { fut, ticket }
    }
}

impl<T, E, F> Future for Task<T, E, F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = ();

    /// Polls `fut` (unless the group was cancelled before the first poll); once it is ready or
    /// has panicked, drops it in place, then records the outcome, so a wait that the outcome
    /// releases finds everything `fut` owned given back. A panic while polling or dropping
    /// `fut` is caught and becomes the outcome. Polled again after that, it is ready at once.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let TaskProj::Running { fut, ticket: slot } = self.as_mut().project() else {
            return Poll::Ready(());
        };
        let Some(ticket) = slot.as_mut() else {
            // Not admitted (the group was cancelled; `Cancelled` is recorded): `fut` never runs.
            self.set(Task::Done);
            return Poll::Ready(());
        };
        if !ticket.started() {
            // A task queued by one of the group's own tasks takes its turn for a slot here.
            if ticket.poll_slot(cx).is_pending() {
                return Poll::Pending;
            }
            if !ticket.start() {
                // Cancelled before the first poll: `fut` never runs.
                let ticket = slot.take();
                self.set(Task::Done);
                finish(ticket, Err(TaskError::Cancelled));
                return Poll::Ready(());
            }
        }
        // While `fut` is polled or dropped, this thread runs a task of the group: a wait on the
        // group from inside it panics (and becomes the outcome) instead of never completing.
        let in_task = InTask::enter(ticket);
        let outcome = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(value))) => Ok(value),
            Ok(Poll::Ready(Err(error))) => Err(TaskError::Failed(error)),
            Err(payload) => Err(TaskError::Panicked(payload)),
        };
        // The ticket leaves first, so that a panicking destructor of `fut` cannot drop it
        // (which would record `Abandoned`). Then `fut` is dropped in place, before the outcome
        // is recorded (below): the `done` that releases a waiter comes after everything `fut`
        // owned (a socket, a span, a guard) is gone.
        let ticket = slot.take();
        let dropped = catch_unwind(AssertUnwindSafe(|| self.set(Task::Done)));
        drop(in_task);
        let outcome = match (outcome, dropped) {
            // A destructor's panic is the task's panic, unless the poll already panicked
            // (that first payload is kept; the second is dropped).
            (Ok(_) | Err(TaskError::Failed(_)), Err(payload)) => Err(TaskError::Panicked(payload)),
            (outcome, _) => outcome,
        };
        finish(ticket, outcome);
        Poll::Ready(())
    }
}

/// Finishes `ticket`, if any, with `outcome`.
fn finish<T, E>(ticket: Option<Ticket<T, E>>, outcome: Result<T, TaskError<E>>) {
    if let Some(ticket) = ticket {
        ticket.finish(outcome);
    }
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
        self.track_with(None, fut)
    }

    /// [`track`](Self::track) with an optional name (`TaskGroup::named`).
    #[track_caller]
    pub(crate) fn track_with<F>(
        &self,
        name: Option<Name>,
        fut: F,
    ) -> impl Future<Output = ()> + use<T, E, F>
    where
        F: Future<Output = Result<T, E>>,
    {
        match self.shared.admit(Admit::Block, name) {
            Ok(ticket) => Task::new(ticket, fut),
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
        self.try_track_with(None, fut)
    }

    /// [`try_track`](Self::try_track) with an optional name (`TaskGroup::named`).
    pub(crate) fn try_track_with<F>(
        &self,
        name: Option<Name>,
        fut: F,
    ) -> Result<impl Future<Output = ()> + use<T, E, F>, TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>>,
    {
        match self.shared.admit(Admit::Try, name) {
            Ok(ticket) => Ok(Task::new(ticket, fut)),
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
        self.track_async_with(None, fut)
    }

    /// [`track_async`](Self::track_async) with an optional name (`TaskGroup::named`).
    #[allow(clippy::async_yields_async)] // as `track_async`
    pub(crate) fn track_async_with<F>(
        &self,
        name: Option<Name>,
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
            match shared.admit(how, name) {
                Ok(ticket) => Task::new(ticket, fut),
                Err(_) => panic!("{CLOSED}"),
            }
        }
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

#[cfg(test)]
mod tests {
    use super::TaskGroup;
    use crate::test_futures::{holding, Bytes};
    use std::future::Future;
    use std::mem::size_of_val;

    /// Asserts the bound for one future (made again for each wrapper: `size_of_val` needs a
    /// value).
    fn assert_at_most_32_more<F: Future<Output = Result<u8, ()>>>(make: impl Fn() -> F) {
        let group = TaskGroup::<u8, ()>::new();
        let inner = size_of_val(&make());
        let task = group.track(make());
        let outer = size_of_val(&task);
        drop(task); // recorded as `Cancelled`
                    // With the `tracing` feature the ticket also holds the task's span.
        #[cfg(feature = "tracing")]
        let inner = inner + std::mem::size_of::<::tracing::Span>();
        assert!(
            outer <= inner + 32,
            "a {inner}-byte future: TaskGroup::track {outer} bytes"
        );
    }

    #[test]
    fn a_task_future_holds_its_future_once() {
        // Held twice (as by the `async fn` that was the wrapper), any future of 32 bytes or
        // more would break the bound.
        assert_at_most_32_more(|| async { Ok(1) });
        assert_at_most_32_more(std::future::pending::<Result<u8, ()>>); // 0 bytes
        let n = 7_u8;
        assert_at_most_32_more(|| async move { Ok(n) });
        assert_at_most_32_more(|| Bytes([0; 16]));
        assert_at_most_32_more(|| Bytes([0; 64]));
        assert_at_most_32_more(|| Bytes([0; 256]));
        assert_at_most_32_more(|| Bytes([0; 1024]));
        assert_at_most_32_more(|| Bytes([0; 4096]));
        assert_at_most_32_more(holding::<16>);
        assert_at_most_32_more(holding::<64>);
        assert_at_most_32_more(holding::<256>);
        assert_at_most_32_more(holding::<1024>);
        assert_at_most_32_more(holding::<4096>);
    }
}
