//! `wait_drained_async`: the `Drained` future, the async form of `wait_drained`.

use crate::parking::{self, Registration};
use crate::wait_group::WaitGroup;
use std::convert::Infallible;
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
    /// Once marked: the generation the mark was seen under, and the stored waker's
    /// registration under the drain key.
    marked: Option<(u64, Option<Registration>)>,
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
        let marked_gen = match &mut this.marked {
            Some((_, Some(registration))) => {
                // Lock-free: the drain wake-up (`wake_after_zero`) takes the stored waker out
                // of the drain key's list, which bumps this ticket.
                if registration.released() {
                    this.marked = None;
                    return Poll::Ready(());
                }
                if registration.stores(cx.waker())
                    || parking::replace_waker(wg.drain_key(), registration, cx.waker())
                {
                    return Poll::Pending;
                }
                this.marked = None;
                return Poll::Ready(());
            }
            Some((marked_gen, None)) => *marked_gen,
            None => match wg.mark_draining() {
                Some(marked_gen) => marked_gen,
                None => return Poll::Ready(()),
            },
        };
        // Stored under the drain key's bucket lock after re-checking there: the write that
        // brings the counter to zero clears DRAINING before it wakes that key
        // (`wake_after_zero`, under the same lock), so a zero between `mark_draining` and
        // here is seen, or finds the waker stored.
        let registered = parking::register_waker(
            wg.drain_key(),
            || Ok::<bool, Infallible>(!wg.drained_since(marked_gen)),
            cx.waker(),
        );
        match registered {
            Ok(Some(registration)) => {
                this.marked = Some((marked_gen, Some(registration)));
                Poll::Pending
            }
            Ok(None) => {
                this.marked = None;
                Poll::Ready(())
            }
            Err(never) => match never {},
        }
    }
}

impl Drop for Drained<'_> {
    fn drop(&mut self) {
        if let Some((_, Some(registration))) = self.marked.take() {
            // Nothing to take back in the word: a drain mark is shared and cleared by the
            // next zero (a stale one costs that zero one wake-up of the drain key).
            parking::cancel_waker(self.wg.drain_key(), registration, || {});
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
