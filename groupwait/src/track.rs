//! `track` and `track_owned`: a future counted in the group while it runs.

use crate::guard::{ArcGuard, Guard};
use crate::outcome::TaskKind;
use crate::wait_group::WaitGroup;
use std::future::{poll_fn, Future};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

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

/// Runs `fut` holding `unit`; a panic of `fut` hands its payload to the group.
///
/// Shaped for size, since a spawned future's size sets the size of its runtime's task
/// allocation (benches/async_fanout.rs). The caught poll hands a panic out as a value, so the
/// unit is not moved into the poll closure (nor wrapped in an `Option` there): the state is
/// the unit, `fut`, and one pointer to the pinned `fut`. (`fut` is held twice, the `async`
/// block's captured copy and the pinned one: only an `unsafe` pin projection would avoid
/// that.) For `track_owned(async {})` that is 24 bytes, which keeps a tokio task in a 128-byte
/// cell; at 48 bytes it took 256.
// Not an `async fn`: its parameters would be moved into locals, held besides the captured
// copies (an `Arc` unit: 32 bytes instead of 24).
#[allow(clippy::manual_async_fn)]
fn tracked<U, F>(unit: U, fut: F) -> impl Future<Output = F::Output>
where
    U: Unit,
    F: Future,
{
    async move {
        let output = {
            let mut fut = pin!(fut);
            let caught =
                poll_fn(
                    move |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
                        Ok(Poll::Pending) => Poll::Pending,
                        Err(payload) => Poll::Ready(Err(payload)),
                    },
                )
                .await;
            match caught {
                Ok(output) => Some(output),
                Err(payload) => {
                    unit.group().record_panic(payload, TaskKind::Track);
                    None
                }
            }
            // `fut` is dropped here, before the `done` below: a waiter released by it finds
            // the future's resources given back.
        };
        // Given back before any unwinding, so its drop is a plain `done` and a panic of `fut`
        // is counted once (as a tracked future's, not also as a guard's).
        drop(unit);
        match output {
            Some(output) => output,
            None => resume_unwind(Box::new(TRACKED_PANIC)),
        }
    }
}
