//! `track` and `track_owned`: a future counted in the group while it runs.

use crate::guard::{ArcGuard, Guard};
use crate::outcome::TaskKind;
use crate::wait_group::WaitGroup;
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The payload a tracked future's task panics with, once the original payload has been handed
/// to the group.
const TRACKED_PANIC: &str = "groupwait: a tracked future panicked; its payload was handed to the \
    WaitGroup's waiter (`wait` re-raises it, `wait_outcome` and the other outcome waits return \
    it)";

impl WaitGroup {
    /// Counts `fut` in the group until it completes or is dropped: `add(1)` now, `done()` when
    /// the returned future finishes or is dropped unfinished. `fut` itself is dropped before
    /// that `done`, so a waiter it releases finds what `fut` held already given back.
    /// `tokio::spawn(wg.track(job))` replaces the `add(1)` + `done()` bookkeeping; it is the
    /// async form of [`go`](Self::go).
    ///
    /// If `fut` panics, the panic follows the rule of `go`: its payload is handed to the group,
    /// and [`wait`](Self::wait) or [`wait_async`](Self::wait_async) re-raise it once the counter
    /// is zero ([`wait_outcome_async`](Self::wait_outcome_async) and the other outcome waits
    /// return it instead). The task running the tracked future still fails (it panics with a
    /// short message saying where the payload went), so its executor sees the failure too.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add)`(1)`, at the call (not when the future is polled).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// static WG: WaitGroup = WaitGroup::new();
    /// for i in 0..10 {
    ///     tokio::spawn(WG.track(async move {
    ///         tokio::task::yield_now().await;
    ///         i * 2
    ///     }));
    /// }
    /// WG.wait_async().await;
    /// assert_eq!(WG.count(), 0);
    /// # });
    /// ```
    #[track_caller]
    pub fn track<'a, F>(&'a self, fut: F) -> impl Future<Output = F::Output> + 'a
    where
        F: Future + 'a,
    {
        tracked(self.guard(), fut)
    }

    /// [`track`](Self::track) for a group in an `Arc`: the returned future owns a reference to
    /// the group, so it is `'static` when `fut` is, as `tokio::spawn` requires.
    ///
    /// # Panics
    ///
    /// As [`track`](Self::track).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let wg = Arc::new(WaitGroup::new());
    /// let handles: Vec<_> = (0..3)
    ///     .map(|i| tokio::spawn(wg.track_owned(async move { i + 1 })))
    ///     .collect();
    /// wg.wait_async().await;
    /// let mut sum = 0;
    /// for h in handles {
    ///     sum += h.await.unwrap();
    /// }
    /// assert_eq!(sum, 6);
    /// # });
    /// ```
    #[track_caller]
    pub fn track_owned<F: Future>(self: &Arc<Self>, fut: F) -> impl Future<Output = F::Output> {
        tracked(self.guard_arc(), fut)
    }
}

/// A unit of a group's counter held for a tracked future: a `Guard` or an `ArcGuard`.
trait Unit {
    fn group(&self) -> &WaitGroup;
}

impl Unit for Guard<'_> {
    fn group(&self) -> &WaitGroup {
        Guard::group(self)
    }
}

impl Unit for ArcGuard {
    fn group(&self) -> &WaitGroup {
        ArcGuard::group(self)
    }
}

pin_project! {
    /// `fut` counted in the group by `unit` until it completes (or this is dropped).
    ///
    /// Hand-written rather than an `async` block, which held `fut` twice (its captured copy
    /// and the pinned one it polled): this is `fut` and the unit, 8 bytes beside `fut` for
    /// `track_owned` (the unit's non-null pointer also encodes `Done`). The pin projection is
    /// `pin-project-lite`'s, so this crate's sources stay free of `unsafe`.
    #[project = TrackedProj]
    #[project_replace = TrackedOwn]
    enum Tracked<U, F> {
        // `fut` before `unit`: dropped unfinished, the fields drop in this order, so `fut` is
        // gone before the unit's `done`.
        Running { #[pin] fut: F, unit: U },
        Done,
    }
}

/// Runs `fut` holding `unit`; a panic of `fut` hands its payload to the group.
fn tracked<U: Unit, F: Future>(unit: U, fut: F) -> Tracked<U, F> {
    Tracked::Running { fut, unit }
}

impl<U: Unit, F: Future> Future for Tracked<U, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let TrackedProj::Running { fut, .. } = self.as_mut().project() else {
            panic!("groupwait: a tracked future polled after it completed");
        };
        let output = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(payload),
        };
        // `fut` is dropped here, in place, before the `done` below: a waiter released by that
        // `done` finds everything `fut` owned given back.
        let TrackedOwn::Running { unit, .. } = self.project_replace(Tracked::Done) else {
            unreachable!("matched `Running` above");
        };
        match output {
            Ok(output) => {
                drop(unit);
                Poll::Ready(output)
            }
            Err(payload) => {
                unit.group().record_panic(payload, TaskKind::Track);
                // Given back before unwinding, so its drop is a plain `done` and the panic is
                // counted once (as a tracked future's, not also as a guard's).
                drop(unit);
                resume_unwind(Box::new(TRACKED_PANIC))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_futures::{holding, Bytes};
    use crate::WaitGroup;
    use std::future::Future;
    use std::mem::size_of_val;
    use std::sync::Arc;

    /// Asserts the bound for one future (made again for each wrapper: `size_of_val` needs a
    /// value).
    fn assert_at_most_16_more<F: Future>(make: impl Fn() -> F) {
        let wg = Arc::new(WaitGroup::new());
        let inner = size_of_val(&make());
        let owned = size_of_val(&wg.track_owned(make()));
        let borrowed = size_of_val(&wg.track(make()));
        assert!(
            owned <= inner + 16 && borrowed <= inner + 16,
            "a {inner}-byte future: track_owned {owned} bytes, track {borrowed}"
        );
    }

    #[test]
    fn a_tracked_future_holds_its_future_once() {
        // Held twice (as by the `async` block that was the wrapper), any future of 32 bytes or
        // more would break the bound.
        assert_at_most_16_more(|| async {});
        assert_at_most_16_more(std::future::pending::<()>); // 0 bytes
        let n = 7_usize;
        assert_at_most_16_more(|| async move { n });
        assert_at_most_16_more(|| Bytes([0; 16]));
        assert_at_most_16_more(|| Bytes([0; 64]));
        assert_at_most_16_more(|| Bytes([0; 256]));
        assert_at_most_16_more(|| Bytes([0; 1024]));
        assert_at_most_16_more(|| Bytes([0; 4096]));
        assert_at_most_16_more(holding::<16>);
        assert_at_most_16_more(holding::<64>);
        assert_at_most_16_more(holding::<256>);
        assert_at_most_16_more(holding::<1024>);
        assert_at_most_16_more(holding::<4096>);
    }
}
