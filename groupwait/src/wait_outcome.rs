//! `wait_outcome_async`: the `WaitOutcome` future, a `Wait` whose end is a value.

use crate::outcome::{self, Panicked};
use crate::wait_async::Wait;
use crate::wait_group::WaitGroup;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that resolves to the round's outcome once the group's counter is zero: the async
/// form of [`WaitGroup::wait_outcome`]. Made by [`WaitGroup::wait_outcome_async`].
///
/// It is a [`Wait`] (the same registration, the same wake-up by the `done` that brings the
/// counter to zero) that returns `Err(`[`Panicked`]`)` instead of re-raising a task's panic.
///
/// # Cancel safety
///
/// As [`Wait`]: dropping it while pending takes back its registration and leaves nothing
/// behind; a round's report is only read by the poll that completes it, so a dropped
/// `WaitOutcome` takes no payload away from the other waiters.
///
/// # Panics
///
/// When polled, only with `too many waiters on one WaitGroup`, as [`WaitGroup::wait_async`].
/// A released future polled late, even during a next round, is not a misuse: it resolves to
/// its own round's outcome.
///
/// # Examples
///
/// ```
/// use groupwait::WaitGroup;
/// use std::sync::Arc;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = Arc::new(WaitGroup::new());
/// let handler = tokio::spawn(wg.track_owned(async { panic!("bad request") }));
/// assert!(handler.await.unwrap_err().is_panic()); // the task fails, as it should
/// let report = wg.wait_outcome_async().await.unwrap_err(); // and the waiter is told
/// assert_eq!(report.message(), Some("bad request"));
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitOutcome<'a> {
    wait: Wait<'a>,
}

impl WaitGroup {
    /// Waits asynchronously until the counter is zero and returns the round's outcome: the
    /// async form of [`wait_outcome`](Self::wait_outcome), beside blocking and async waiters
    /// of the same group. `Err(`[`Panicked`]`)` if tasks of the round panicked (every waiter
    /// of the round gets one; one of them holds the payload).
    ///
    /// Use it where a task's panic must not take the waiter down: a server's shutdown code
    /// waiting for its request handlers, a supervisor that logs and restarts.
    ///
    /// # Errors
    ///
    /// The future resolves to [`Panicked`], as [`wait_outcome`](Self::wait_outcome).
    ///
    /// # Panics
    ///
    /// When polled, only with `too many waiters on one WaitGroup` (see [`WaitOutcome`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (see [`WaitOutcome`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// # futures::executor::block_on(async {
    /// let wg = Arc::new(WaitGroup::new());
    /// wg.go(|| {});
    /// wg.wait_outcome_async().await.expect("no task panicked");
    /// # });
    /// ```
    pub fn wait_outcome_async(&self) -> WaitOutcome<'_> {
        WaitOutcome {
            wait: self.wait_async(),
        }
    }
}

impl Future for WaitOutcome<'_> {
    type Output = Result<(), Panicked>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // The inner `Wait` ends a released wait by handing the round's report to
        // `outcome::deliver`; captured here instead of re-raised (see `outcome.rs`).
        let (poll, report) = outcome::capturing(|| Pin::new(&mut this.wait).poll(cx));
        match poll {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(report.map_or(Ok(()), Err)),
        }
    }
}

impl fmt::Debug for WaitOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOutcome")
            .field("wait", &self.wait)
            .finish()
    }
}
