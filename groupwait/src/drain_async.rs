//! `wait_drained_async`: the `Drained` future, the async form of `wait_drained`.

use crate::parking::{self, Registered};
use crate::wait_group::WaitGroup;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that resolves once the group's counter has been zero at some moment after its
/// first poll: the async form of [`WaitGroup::wait_drained`]. Made by
/// [`WaitGroup::wait_drained_async`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it while pending removes its waker; it holds no count in the group
/// (a drain waiter is a mark that the next zero clears), so nothing else is left behind.
///
/// # Panics
///
/// Never.
///
/// # Examples
///
/// ```
/// use groupwait::WaitGroup;
/// use std::sync::Arc;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = Arc::new(WaitGroup::new());
/// let job = tokio::spawn(wg.track_owned(tokio::task::yield_now()));
/// wg.wait_drained_async().await; // the job submitted so far is done
/// job.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Drained<'a> {
    wg: &'a WaitGroup,
    /// Once marked: the generation the mark was seen under, and the waker's id.
    marked: Option<(u64, Option<u64>)>,
}

impl WaitGroup {
    /// Waits asynchronously until the counter has been zero at some moment after the first
    /// poll: the async form of [`wait_drained`](Self::wait_drained), for a graceful drain
    /// while other tasks keep adding work.
    ///
    /// # Panics
    ///
    /// Never.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (see [`Drained`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let wg = WaitGroup::new();
    /// wg.wait_drained_async().await; // nothing in flight: ready at once
    /// # });
    /// ```
    pub fn wait_drained_async(&self) -> Drained<'_> {
        Drained {
            wg: self,
            marked: None,
        }
    }
}

impl Future for Drained<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let wg = this.wg;
        let (marked_gen, id) = match this.marked {
            Some(marked) => marked,
            None => match wg.mark_draining() {
                Some(marked_gen) => (marked_gen, None),
                None => return Poll::Ready(()),
            },
        };
        // Stored under the bucket lock after re-checking there: the write that brings the
        // counter to zero clears DRAINING before it wakes this bucket (`wake_after_zero`), so
        // a zero between `mark_draining` and here is seen, or finds the waker stored.
        match parking::register_waker(wg.key(), || !wg.drained_since(marked_gen), id, cx.waker()) {
            Registered::Pending(id) => {
                this.marked = Some((marked_gen, Some(id)));
                Poll::Pending
            }
            Registered::Released => {
                this.marked = None;
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Drained<'_> {
    fn drop(&mut self) {
        if let Some((_, Some(id))) = self.marked.take() {
            // Nothing to take back in the word: a drain mark is shared and cleared by the
            // next zero (a stale one costs that zero one wake-up call of the bucket).
            parking::cancel_waker(self.wg.key(), id);
        }
    }
}

impl fmt::Debug for Drained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drained")
            .field("group", self.wg)
            .field("marked", &self.marked.is_some())
            .finish()
    }
}
