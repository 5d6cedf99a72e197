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
    /// While pending: the generation the mark was seen under, and the stored waker's
    /// registration under the drain key.
    marked: Option<(u64, Registration)>,
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
        let marked_gen = match this.marked.take() {
            Some((marked_gen, mut registration)) => {
                // Still stored: pending (a re-poll with the same waker takes no lock).
                if !registration.released(wg.drain_key())
                    && (registration.stores(cx.waker())
                        || parking::replace_waker(wg.drain_key(), &mut registration, cx.waker()))
                {
                    this.marked = Some((marked_gen, registration));
                    return Poll::Pending;
                }
                // Taken out by a drain wake-up, which wakes every drain waiter stored under
                // the key: maybe that of a zero before this drain's mark (its `done` wakes
                // the key after its write, and a new mark can come in between). So the word
                // decides, not the wake-up: `drained_since` (an Acquire load, which also
                // makes the round's `done`s visible to the caller) and, if not drained yet,
                // a new registration below. The old one's slot was freed by that release.
                if wg.drained_since(marked_gen) {
                    return Poll::Ready(());
                }
                marked_gen
            }
            None => match wg.mark_draining() {
                Some(marked_gen) => marked_gen,
                None => return Poll::Ready(()),
            },
        };
        // Stored under the drain key's bucket lock after re-checking there: the compare-exchange
        // that clears DRAINING at a zero comes before the wake-up of that key, made by the
        // same thread (`settle_zero`, under the same lock; decided from the word that
        // compare-exchange replaced), so a zero between `mark_draining` and here is seen, or
        // finds the waker stored.
        let registered = parking::register_waker(
            wg.drain_key(),
            || Ok::<bool, Infallible>(!wg.drained_since(marked_gen)),
            cx.waker(),
        );
        match registered {
            Ok(Some(registration)) => {
                this.marked = Some((marked_gen, registration));
                Poll::Pending
            }
            Ok(None) => Poll::Ready(()),
            Err(never) => match never {},
        }
    }
}

impl Drop for Drained<'_> {
    fn drop(&mut self) {
        if let Some((_, registration)) = self.marked.take() {
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
