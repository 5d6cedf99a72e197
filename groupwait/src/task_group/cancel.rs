//! `CancelToken`: a flag every task can check and await, with the cause of its firing.

use super::limit::Limit;
use crate::first_panic::FirstPanic;
use crate::sync::{lock, AtomicU64, Condvar, Mutex, Ordering};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Why a [`CancelToken`] fired. The first cause wins; later cancellations change nothing.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::{Cause, TaskGroup};
///
/// let group = TaskGroup::<(), &str>::new();
/// group.spawn(|| Err("bad input"));
/// assert!(group.wait().is_err());
/// assert_eq!(group.token().cause(), Some(Cause::Failed { task: 0 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cause {
    /// Task number `task` (its submission index, from 0) returned an error. The error itself
    /// is what the group's `wait` returns.
    Failed {
        /// The task's submission index.
        task: usize,
    },
    /// Task number `task` panicked; `message` is its panic message if it was a string.
    Panicked {
        /// The task's submission index.
        task: usize,
        /// The panic message, when the payload is a `&str` or a `String`.
        message: Option<String>,
    },
    /// Task number `task` (a future) was dropped after it started, before it completed.
    Abandoned {
        /// The task's submission index.
        task: usize,
    },
    /// [`CancelToken::cancel`] or [`TaskGroup::cancel`](super::TaskGroup::cancel) was called.
    Explicit,
    /// The group's deadline passed.
    Deadline,
    /// The group was dropped while some of its tasks were still running.
    GroupDropped,
}

/// A cancellation flag shared by a group and its tasks: cheap to clone, to check
/// ([`is_cancelled`](Self::is_cancelled) is one atomic load) and to await
/// ([`cancelled`](Self::cancelled)).
///
/// A [`TaskGroup`](super::TaskGroup)'s token fires on the first error or panic of a task, on
/// an explicit cancel, on the group's deadline and when the group is dropped with tasks still
/// running; [`cause`](Self::cause) says which. Cancellation is cooperative: running tasks are
/// not interrupted, they check the token; tasks not yet started when it fires never start.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::{Cause, CancelToken};
///
/// let token = CancelToken::new();
/// let seen = token.clone();
/// assert!(!seen.is_cancelled());
/// token.cancel();
/// assert!(seen.is_cancelled());
/// assert_eq!(seen.cause(), Some(Cause::Explicit));
/// ```
///
/// # Memory ordering
///
/// Whatever the cancelling thread wrote before `cancel` is visible to a thread that then
/// sees `is_cancelled()` return `true`, or whose `cancelled()` completes.
#[derive(Clone)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

struct Inner {
    /// 1 once cancelled, 0 before. Written only under `state`'s lock, read without it.
    flag: AtomicU64,
    state: Mutex<State>,
    /// Blocking waiters (the deadline timer) sleep here.
    cond: Condvar,
    /// The group's limit, whose blocked callers a cancellation wakes.
    limit: Option<Arc<Limit>>,
}

struct State {
    cause: Option<Cause>,
    /// The group is gone: its deadline timer may stop waiting.
    retired: bool,
    /// Pending `cancelled()` futures, by key.
    wakers: BTreeMap<u64, Waker>,
    next_key: u64,
}

impl CancelToken {
    /// A token of its own, not tied to a group.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = groupwait::task_group::CancelToken::new();
    /// assert!(!token.is_cancelled());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::linked(None)
    }

    /// A token whose cancellation also wakes the callers blocked on `limit`.
    pub(crate) fn linked(limit: Option<Arc<Limit>>) -> Self {
        CancelToken {
            inner: Arc::new(Inner {
                flag: AtomicU64::new(0),
                state: Mutex::new(State {
                    cause: None,
                    retired: false,
                    wakers: BTreeMap::new(),
                    next_key: 0,
                }),
                cond: Condvar::new(),
                limit,
            }),
        }
    }

    /// Whether the token has fired. One atomic load.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let group = TaskGroup::<(), ()>::new();
    /// let token = group.token();
    /// group.spawn(move || {
    ///     while !token.is_cancelled() {
    ///         std::thread::yield_now(); // a long job checking between steps
    ///     }
    ///     Ok(())
    /// });
    /// group.cancel();
    /// group.wait_idle(); // the task returns once it sees the cancellation (or never starts)
    /// ```
    #[inline]
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        // Acquire: pairs with the Release store in `cancel_with`, so the canceller's earlier
        // writes are visible once the flag is seen.
        self.inner.flag.load(Ordering::Acquire) != 0
    }

    /// Fires the token with [`Cause::Explicit`]. Returns `true` if this call fired it,
    /// `false` if it had already fired (the first cause is kept).
    ///
    /// # Examples
    ///
    /// ```
    /// let token = groupwait::task_group::CancelToken::new();
    /// assert!(token.cancel());
    /// assert!(!token.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        self.cancel_with(Cause::Explicit)
    }

    /// Why the token fired, or `None` if it has not.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{Cause, CancelToken};
    ///
    /// let token = CancelToken::new();
    /// assert_eq!(token.cause(), None);
    /// token.cancel();
    /// assert_eq!(token.cause(), Some(Cause::Explicit));
    /// ```
    #[must_use]
    pub fn cause(&self) -> Option<Cause> {
        lock(&self.inner.state).cause.clone()
    }

    /// A future that completes once the token has fired; at once if it already has.
    /// Works under any executor.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it unregisters its waker and changes nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::CancelToken;
    ///
    /// let token = CancelToken::new();
    /// let waiter = token.clone();
    /// let handle = std::thread::spawn(move || futures::executor::block_on(waiter.cancelled()));
    /// token.cancel();
    /// handle.join().unwrap();
    /// ```
    pub fn cancelled(&self) -> Cancelled<'_> {
        Cancelled {
            token: self,
            key: None,
        }
    }

    /// Fires the token with `cause` unless it already fired; wakes every waiter and every
    /// caller blocked on the linked limit. Returns whether this call fired it. If a `wake`
    /// panicked, the first panic continues once all of that is done (not while unwinding).
    pub(crate) fn cancel_with(&self, cause: Cause) -> bool {
        let mut panic = FirstPanic::new();
        let fired = self.cancel_collecting(cause, &mut panic);
        panic.resume();
        fired
    }

    /// [`cancel_with`](Self::cancel_with), keeping a panicking `wake` in `panic` for the caller
    /// to resume after its own remaining steps (issue 20, item 5: every waker is woken and the
    /// limit cancelled whatever a `wake` does).
    pub(crate) fn cancel_collecting(&self, cause: Cause, panic: &mut FirstPanic) -> bool {
        let wakers = {
            let mut state = lock(&self.inner.state);
            if state.cause.is_some() {
                return false;
            }
            state.cause = Some(cause);
            // Release: pairs with the Acquire load in `is_cancelled`. Stored under the lock,
            // so a `cancelled()` that re-checks the flag under the lock before registering
            // its waker cannot miss this store and the wake below.
            self.inner.flag.store(1, Ordering::Release);
            std::mem::take(&mut state.wakers)
        };
        self.inner.cond.notify_all();
        // The wakers run outside the lock: a waker is user code.
        for waker in wakers.into_values() {
            panic.run(|| waker.wake());
        }
        if let Some(limit) = &self.inner.limit {
            limit.cancel(panic);
        }
        true
    }

    /// Blocks until the token fires (`true`), `deadline` passes or the token is retired
    /// (`false`). Used by the deadline timer.
    pub(crate) fn wait_deadline(&self, deadline: Instant) -> bool {
        let mut state = lock(&self.inner.state);
        loop {
            // Checked under the lock that `cancel_with` and `retire` write under, before
            // each sleep: a firing between the check and the sleep cannot be missed.
            if state.cause.is_some() {
                return true;
            }
            if state.retired {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .inner
                .cond
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// The group is gone: release a deadline timer waiting on this token.
    pub(crate) fn retire(&self) {
        lock(&self.inner.state).retired = true;
        self.inner.cond.notify_all();
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cause", &self.cause())
            .finish()
    }
}

/// The future returned by [`CancelToken::cancelled`].
///
/// # Examples
///
/// ```
/// let token = groupwait::task_group::CancelToken::new();
/// token.cancel();
/// futures::executor::block_on(token.cancelled());
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Cancelled<'a> {
    token: &'a CancelToken,
    /// Our waker's key in the token's table, while registered.
    key: Option<u64>,
}

impl Future for Cancelled<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        // Cloned before taking the lock: cloning a waker is user code.
        let waker = cx.waker().clone();
        let inner = &self.token.inner;
        let old = {
            let mut state = lock(&inner.state);
            // Re-checked under the lock: a `cancel_with` that stored the flag after our first
            // check has either already taken the waker table (we see the flag here) or will
            // take it after we insert, and wake us.
            if state.cause.is_some() {
                drop(state);
                drop(waker);
                return Poll::Ready(());
            }
            let key = match self.key {
                Some(key) => key,
                None => {
                    let key = state.next_key;
                    state.next_key += 1;
                    key
                }
            };
            let old = state.wakers.insert(key, waker);
            drop(state);
            self.key = Some(key);
            old
        };
        drop(old); // the replaced waker is dropped outside the lock
        Poll::Pending
    }
}

impl Drop for Cancelled<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let old = lock(&self.token.inner.state).wakers.remove(&key);
            drop(old); // outside the lock
        }
    }
}

impl fmt::Debug for Cancelled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancelled")
            .field("cancelled", &self.token.is_cancelled())
            .finish_non_exhaustive()
    }
}
