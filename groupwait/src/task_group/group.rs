//! `TaskGroup`: tasks, their outcomes in submission order, the first error, the waits.

use super::admissions::{Admissions, Refusal};
use super::cancel::{CancelToken, Cause};
use super::error::{payload_message, TaskError};
use super::limit::{Acquired, Limit};
use super::pending::{Name, Table};
use super::slots::Slots;
use crate::first_panic::FirstPanic;
use crate::sync::{lock, AtomicU64, Mutex, Ordering};
use crate::WaitGroup;
use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A group of tasks (threads or futures) returning `Result<T, E>`: Go's `errgroup` with
/// results, a limit, panics as values and a cancellation token. See the
/// [module docs](super) for the tour.
///
/// Tasks are added through `&self` from any thread ([`spawn`](Self::spawn),
/// [`spawn_scoped`](Self::spawn_scoped), [`track`](Self::track) and their `try_`/async forms);
/// [`wait`](Self::wait) returns every value in submission order, or the first error.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::TaskGroup;
///
/// let group = TaskGroup::<u64, std::num::ParseIntError>::with_limit(4);
/// for word in ["1", "22", "333"] {
///     group.spawn(move || word.parse::<u64>());
/// }
/// assert_eq!(group.wait().unwrap(), vec![1, 22, 333]);
/// ```
///
/// # Dropping a group whose tasks still run
///
/// Dropping the group does not wait. If tasks are still running it cancels the token (cause
/// [`Cause::GroupDropped`]): tasks not yet started never start, running ones see
/// `is_cancelled()` and finish on their own, and their outcomes are dropped when the last one
/// ends. Scoped tasks cannot outlive their scope, so the scope still joins them. The group
/// owns no thread: `spawn`'s tasks run on the process's task pool, whose workers park when
/// their task is done and exit after five seconds without one (see the
/// [module docs](super), **Threads**).
///
/// # Memory ordering
///
/// Everything a task did happens-before the return of the wait that reports its outcome.
pub struct TaskGroup<T = (), E = Infallible> {
    pub(crate) shared: Arc<Shared<T, E>>,
}

/// The part shared with the tasks.
///
/// `repr(C)` with `admissions` first: in the `Arc`'s allocation it then follows the reference
/// counts at once, usually on their cache line, which every admission and end also update
/// (the ticket's clone and drop): one line passes between the spawning and the running
/// thread per step instead of two.
#[repr(C)]
pub(crate) struct Shared<T, E> {
    /// Closed, running, next index: admissions and ends (see `admissions`).
    pub(crate) admissions: Admissions,
    /// The gate the waits wait on: one unit from the creation until the group is closed with
    /// no task running (opened by whoever's update of `admissions` made that state).
    wg: WaitGroup,
    /// One outcome per admitted task, by submission index; `None` while it runs.
    pub(crate) slots: Slots<Result<T, TaskError<E>>>,
    /// The submission index of the first task that failed, panicked or was abandoned
    /// (`NO_ERROR`: none yet).
    first_error: AtomicU64,
    pub(crate) token: CancelToken,
    pub(crate) limit: Option<Arc<Limit>>,
    cancel_on_error: bool,
    pub(crate) state: Mutex<State>,
}

/// `first_error` before any error.
const NO_ERROR: u64 = u64::MAX;

/// What only the slow paths share: taken by the wait, by a snapshot, and by the admission and
/// end of a named or queued task; never by an unnamed task's admission or end.
pub(crate) struct State {
    /// The outcomes were handed to a waiter.
    pub(crate) taken: bool,
    /// The named and the queued unfinished tasks (`TaskGroup::pending`; the others are the
    /// empty outcome slots).
    pub(crate) pending: Table,
}

/// How [`TaskGroup`]s are configured: limit, deadline, error policy.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::TaskGroup;
/// use std::time::Duration;
///
/// let group = TaskGroup::<u32, String>::builder()
///     .limit(8)
///     .timeout(Duration::from_secs(30))
///     .keep_going()
///     .build();
/// group.spawn(|| Ok(1));
/// group.spawn(|| Err("two".to_string()));
/// let all = group.wait_all();
/// assert_eq!(all.len(), 2);
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<T = (), E = Infallible> {
    limit: Option<usize>,
    deadline: Option<Instant>,
    keep_going: bool,
    group: PhantomData<fn() -> TaskGroup<T, E>>,
}

impl<T, E> Default for Builder<T, E> {
    fn default() -> Self {
        Builder {
            limit: None,
            deadline: None,
            keep_going: false,
            group: PhantomData,
        }
    }
}

impl<T, E> Clone for Builder<T, E> {
    fn clone(&self) -> Self {
        Builder { ..*self }
    }
}

impl<T, E> fmt::Debug for Builder<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("limit", &self.limit)
            .field("deadline", &self.deadline)
            .field("keep_going", &self.keep_going)
            .finish()
    }
}

impl<T, E> Builder<T, E> {
    /// At most `n` tasks of the group run (or wait to be polled) at once; adding one more
    /// blocks, waits asynchronously or is refused, by the form used.
    ///
    /// # Panics
    ///
    /// If `n` is 0 (a group that could never run a task would hang its first `spawn`).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::builder().limit(2).build();
    /// assert_eq!(group.limit(), Some(2));
    /// ```
    #[track_caller]
    pub fn limit(mut self, n: usize) -> Self {
        assert!(
            n >= 1,
            "TaskGroup limit must be at least 1 (a limit of 0 could run no task)"
        );
        self.limit = Some(n);
        self
    }

    /// Cancels the group (cause [`Cause::Deadline`]) at `deadline`, if its tasks have not
    /// all finished by then. A helper thread sleeps until the deadline or the group's drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{Cause, TaskGroup};
    /// use std::time::{Duration, Instant};
    ///
    /// let group = TaskGroup::<(), ()>::builder()
    ///     .deadline(Instant::now() + Duration::from_millis(10))
    ///     .build();
    /// let token = group.token();
    /// group.spawn(move || {
    ///     futures::executor::block_on(token.cancelled()); // runs until cancelled
    ///     Ok(())
    /// });
    /// // `Ok`, or `Err(Cancelled)` if the deadline came before the task started.
    /// let _ = group.wait();
    /// assert_eq!(group.token().cause(), Some(Cause::Deadline));
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// [`deadline`](Self::deadline) `timeout` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::builder()
    ///     .timeout(Duration::from_secs(60))
    ///     .build();
    /// group.wait().unwrap();
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.deadline(deadline),
            None => self,
        }
    }

    /// An error or a panic does not cancel the group: every task runs, and
    /// [`wait_all`](TaskGroup::wait_all) reports each outcome. (`wait` still returns the
    /// first error.)
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), &str>::builder().keep_going().build();
    /// group.spawn(|| Err("one"));
    /// group.spawn(|| Ok(()));
    /// let outcomes = group.wait_all();
    /// assert!(outcomes[0].is_err() && outcomes[1].is_ok());
    /// assert!(!group.is_cancelled());
    /// ```
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }

    /// Builds the group.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<u8, ()>::builder().build();
    /// group.spawn(|| Ok(1));
    /// assert_eq!(group.wait(), Ok(vec![1]));
    /// ```
    pub fn build(self) -> TaskGroup<T, E> {
        let limit = self.limit.map(|n| Arc::new(Limit::new(n)));
        let token = CancelToken::linked(limit.clone());
        if let Some(deadline) = self.deadline {
            let timer = token.clone();
            std::thread::Builder::new()
                .name("groupwait-deadline".into())
                .spawn(move || {
                    if !timer.wait_deadline(deadline) && Instant::now() >= deadline {
                        timer.cancel_with(Cause::Deadline);
                    }
                })
                .expect("groupwait: failed to start the task group's deadline thread");
        }
        let gate = WaitGroup::new();
        gate.add(1);
        TaskGroup {
            shared: Arc::new(Shared {
                admissions: Admissions::new(),
                wg: gate,
                slots: Slots::new(),
                first_error: AtomicU64::new(NO_ERROR),
                token,
                limit,
                cancel_on_error: !self.keep_going,
                state: Mutex::new(State {
                    taken: false,
                    pending: Table::new(),
                }),
            }),
        }
    }
}

impl<T, E> TaskGroup<T, E> {
    /// A group with no limit and no deadline, cancelled by its first error.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// group.spawn(|| Ok(()));
    /// group.wait().unwrap();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Builder::default().build()
    }

    /// A group running at most `n` tasks at once.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<usize, ()>::with_limit(2);
    /// for i in 0..10 {
    ///     group.spawn(move || Ok(i));
    /// }
    /// assert_eq!(group.wait().unwrap(), (0..10).collect::<Vec<_>>());
    /// ```
    #[must_use]
    #[track_caller]
    pub fn with_limit(n: usize) -> Self {
        Builder::default().limit(n).build()
    }

    /// A [`Builder`] for a limit, a deadline, or [`keep_going`](Builder::keep_going).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::builder().limit(3).build();
    /// assert_eq!(group.limit(), Some(3));
    /// ```
    pub fn builder() -> Builder<T, E> {
        Builder::default()
    }

    /// The group's cancellation token (a clone; all clones are the same token).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// let token = group.token();
    /// group.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    #[must_use]
    pub fn token(&self) -> CancelToken {
        self.shared.token.clone()
    }

    /// Cancels the group ([`Cause::Explicit`] unless it was already cancelled): tasks not yet
    /// started will not start and are reported as [`TaskError::Cancelled`]; callers blocked on
    /// the limit return. Running tasks are not interrupted. Returns whether this call fired
    /// the token.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{TaskError, TaskGroup};
    ///
    /// let group = TaskGroup::<(), ()>::new();
    /// group.cancel();
    /// group.spawn(|| unreachable!("never started"));
    /// assert!(matches!(group.wait(), Err(TaskError::Cancelled)));
    /// ```
    pub fn cancel(&self) -> bool {
        self.shared.token.cancel()
    }

    /// Whether the group's token has fired.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// assert!(!group.is_cancelled());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// The limit set at construction, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::with_limit(5);
    /// assert_eq!(group.limit(), Some(5));
    /// ```
    #[must_use]
    pub fn limit(&self) -> Option<usize> {
        self.shared.limit.as_ref().map(|l| l.max())
    }

    /// How many admitted tasks have not finished yet (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// assert_eq!(group.running(), 0);
    /// ```
    #[must_use]
    pub fn running(&self) -> usize {
        self.shared.admissions.running()
    }

    /// Waits until every task has finished, then returns their values in submission order,
    /// or the first error: the first failure, panic or abandonment in time (the one that
    /// cancelled the group, unless [`keep_going`](Builder::keep_going)); if there is none but
    /// tasks were skipped by a cancellation (explicit, deadline), [`TaskError::Cancelled`].
    /// The other outcomes are dropped; use [`wait_all`](Self::wait_all) to keep them.
    ///
    /// Waiting closes the group: once the wait has begun and no task is running, the group
    /// takes no more tasks (tasks may still add tasks while any is running). Cost: one slot
    /// per task (a `Mutex<Option<Result<T, TaskError<E>>>>`), kept until the group is
    /// dropped; the wait empties them.
    ///
    /// # Errors
    ///
    /// The first [`TaskError`], as above.
    ///
    /// # Panics
    ///
    /// If the outcomes were already taken by an earlier `wait`/`wait_all` (timed waits that
    /// timed out take nothing); use [`wait_idle`](Self::wait_idle) for additional waiters.
    /// If called from one of the group's own tasks (a thread task, or a future task while it
    /// is polled), where it would wait for itself forever: every wait checks this.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let group = TaskGroup::<String, ()>::new();
    /// group.spawn(|| Ok("a".to_string()));
    /// group.spawn(|| Ok("b".to_string()));
    /// assert_eq!(group.wait().unwrap(), ["a", "b"]);
    /// ```
    #[track_caller]
    pub fn wait(&self) -> Result<Vec<T>, TaskError<E>> {
        self.close();
        self.shared.wg.wait();
        self.take_values()
    }

    /// Like [`wait`](Self::wait), but returns every outcome, in submission order.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{TaskError, TaskGroup};
    ///
    /// let group = TaskGroup::<u8, &str>::builder().keep_going().build();
    /// group.spawn(|| Ok(1));
    /// group.spawn(|| Err("two"));
    /// group.spawn(|| Ok(3));
    /// let all = group.wait_all();
    /// assert!(matches!(all[..], [Ok(1), Err(TaskError::Failed("two")), Ok(3)]));
    /// ```
    #[track_caller]
    pub fn wait_all(&self) -> Vec<Result<T, TaskError<E>>> {
        self.close();
        self.shared.wg.wait();
        self.take_all()
    }

    /// [`wait`](Self::wait), giving up after `timeout`: `None` if tasks were still running
    /// then (nothing is taken; wait again later). Never `None` before `timeout` has passed.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), when it would return `Some`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// group.spawn(|| Ok(()));
    /// assert_eq!(group.wait_timeout(Duration::from_secs(10)), Some(Ok(vec![()])));
    /// ```
    #[track_caller]
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<Vec<T>, TaskError<E>>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Some(self.wait()),
        }
    }

    /// [`wait`](Self::wait), giving up at `deadline`: `None` if tasks were still running
    /// then. Never `None` before `deadline`.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), when it would return `Some`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// let (open, gate) = std::sync::mpsc::channel::<()>();
    /// group.spawn(move || gate.recv().map_err(drop));
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(group.wait_deadline(deadline).is_none());
    /// assert!(Instant::now() >= deadline);
    /// open.send(()).unwrap();
    /// assert_eq!(group.wait(), Ok(vec![()]));
    /// ```
    #[track_caller]
    pub fn wait_deadline(&self, deadline: Instant) -> Option<Result<Vec<T>, TaskError<E>>> {
        self.close();
        if self.shared.wg.wait_deadline(deadline) {
            Some(self.take_values())
        } else {
            None
        }
    }

    /// The async [`wait`](Self::wait): any executor, no runtime dependency.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the outcomes are taken only in the poll that completes it; a future
    /// dropped before that leaves them for a later wait. (Its first poll closes the group.)
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), in the poll that completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let group = TaskGroup::<u32, ()>::new();
    /// group.spawn(|| Ok(7));
    /// assert_eq!(group.wait_async().await, Ok(vec![7]));
    /// # });
    /// ```
    pub async fn wait_async(&self) -> Result<Vec<T>, TaskError<E>> {
        self.close();
        self.shared.wg.wait_async().await;
        self.take_values()
    }

    /// The async [`wait_all`](Self::wait_all).
    ///
    /// # Cancel safety
    ///
    /// As [`wait_async`](Self::wait_async).
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), in the poll that completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let group = groupwait::task_group::TaskGroup::<u32, ()>::new();
    /// group.spawn(|| Ok(7));
    /// assert_eq!(group.wait_all_async().await, vec![Ok(7)]);
    /// # });
    /// ```
    pub async fn wait_all_async(&self) -> Vec<Result<T, TaskError<E>>> {
        self.close();
        self.shared.wg.wait_async().await;
        self.take_all()
    }

    /// Waits until every task has finished, without taking the outcomes: for any number of
    /// additional waiters. Closes the group as [`wait`](Self::wait) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let group = TaskGroup::<u8, ()>::new();
    /// group.spawn(|| Ok(1));
    /// std::thread::scope(|s| {
    ///     s.spawn(|| group.wait_idle());
    ///     s.spawn(|| group.wait_idle());
    ///     assert_eq!(group.wait(), Ok(vec![1]));
    /// });
    /// ```
    #[track_caller]
    pub fn wait_idle(&self) {
        self.close();
        self.shared.wg.wait();
    }

    /// [`wait_idle`](Self::wait_idle) giving up at `deadline`; `true` if every task finished.
    /// Never `false` before `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Instant;
    ///
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// assert!(group.wait_idle_deadline(Instant::now()));
    /// ```
    #[track_caller]
    pub fn wait_idle_deadline(&self, deadline: Instant) -> bool {
        self.close();
        self.shared.wg.wait_deadline(deadline)
    }

    /// The async [`wait_idle`](Self::wait_idle).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it takes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// group.wait_idle_async().await;
    /// # });
    /// ```
    pub async fn wait_idle_async(&self) {
        self.close();
        self.shared.wg.wait_async().await;
    }

    /// Closes the group (every wait begins here). Panics if called from one of the group's
    /// own thread tasks: that wait could never return.
    #[track_caller]
    fn close(&self) {
        let address = Arc::as_ptr(&self.shared) as *const () as usize;
        if CURRENT_GROUP.with(std::cell::Cell::get) == address {
            panic!(
                "TaskGroup: a wait called from one of the group's own tasks would wait for \
                 itself forever"
            );
        }
        self.shared.close();
    }

    /// Marks the outcomes taken (after the gate opened) and returns how many there are and
    /// the first error's index, if any.
    #[track_caller]
    fn begin_take(&self) -> (usize, Option<usize>) {
        let shared = &*self.shared;
        let taken = std::mem::replace(&mut lock(&shared.state).taken, true);
        if taken {
            panic!(
                "TaskGroup: the outcomes were already taken by an earlier wait \
                 (use wait_idle for additional waiters)"
            );
        }
        debug_assert!(shared.admissions.finished());
        // Relaxed: written before the end of the task that set it (Release), seen through
        // the gate like the outcomes.
        let first = match shared.first_error.load(Ordering::Relaxed) {
            NO_ERROR => None,
            index => Some(index as usize),
        };
        (shared.admissions.submitted(), first)
    }

    /// Task `index`'s outcome. The gate is open: every admitted task has ended, so its slot
    /// is set (the wait's Acquire saw the end), and no task is admitted any more.
    fn take_outcome(&self, index: usize) -> Result<T, TaskError<E>> {
        let outcome = self.shared.slots.take(index);
        debug_assert!(outcome.is_some(), "task {index} ended without an outcome");
        outcome.unwrap_or(Err(TaskError::Abandoned))
    }

    /// Every outcome, in submission order.
    #[track_caller]
    fn take_all(&self) -> Vec<Result<T, TaskError<E>>> {
        let (submitted, _) = self.begin_take();
        (0..submitted).map(|i| self.take_outcome(i)).collect()
    }

    /// The values, or the error that cancelled the group, or the first non-`Ok` outcome, in
    /// one pass over the slots. Everything else is dropped here, each outcome after its
    /// slot's lock.
    #[track_caller]
    fn take_values(&self) -> Result<Vec<T>, TaskError<E>> {
        let (submitted, first) = self.begin_take();
        if let Some(first) = first {
            let error = self.take_outcome(first);
            for i in (0..submitted).filter(|&i| i != first) {
                drop(self.take_outcome(i));
            }
            return Err(error.err().expect("the first error is an error"));
        }
        let mut values = Vec::with_capacity(submitted);
        for i in 0..submitted {
            match self.take_outcome(i) {
                Ok(value) => values.push(value),
                Err(error) => {
                    drop(values);
                    for rest in i + 1..submitted {
                        drop(self.take_outcome(rest));
                    }
                    return Err(error);
                }
            }
        }
        Ok(values)
    }
}

impl<T, E> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let running = self.shared.close();
        let mut panic = FirstPanic::new();
        if running > 0 {
            self.shared
                .token
                .cancel_collecting(Cause::GroupDropped, &mut panic);
        }
        self.shared.token.retire();
        // After the retirement (the deadline timer stops); not if the group is dropped by a
        // panic (issue 20, item 6).
        panic.resume();
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let admissions = &self.shared.admissions;
        let (running, submitted, closed) = (
            admissions.running(),
            admissions.submitted(),
            admissions.closed(),
        );
        let taken = lock(&self.shared.state).taken;
        f.debug_struct("TaskGroup")
            .field("running", &running)
            .field("submitted", &submitted)
            .field("closed", &closed)
            .field("taken", &taken)
            .field("limit", &self.shared.limit)
            .field("token", &self.shared.token)
            .field("pending", &self.debug_pending())
            .finish()
    }
}

/// How a task is let in.
pub(crate) enum Admit {
    /// Block for a slot.
    Block,
    /// Refuse when every slot is taken.
    Try,
    /// A slot was already acquired (or a cancellation seen) by the async form.
    Acquired(Acquired),
}

/// Why a task was not admitted: the caller hands it back or panics.
pub(crate) enum Refused {
    Full,
    Closed,
}

/// An admitted task's place in the group: its index, its slot, its share of the running count.
/// Finishing (or dropping) it records the outcome.
pub(crate) struct Ticket<T, E> {
    shared: Arc<Shared<T, E>>,
    index: usize,
    /// Its slot and whether it started and finished, in one word: the ticket is three words,
    /// so a future task holding it stays its future's size plus 32 bytes.
    state: TicketState,
    /// The task's span (index, name), entered while it runs; its outcome is an event in it.
    #[cfg(feature = "tracing")]
    span: ::tracing::Span,
}

/// A ticket's [`Slot`] and flags packed in a `u64`:
///
/// | bits | holds |
/// |---|---|
/// | 0-1 | the slot's kind: 0 none, 1 held, 2 queued |
/// | 2 | started |
/// | 3 | finished |
/// | 4 | listed in the pending table (named, or admitted queued) |
/// | 5-63 | a queued task's key in the limit's line, plus one (0: no key yet) |
#[derive(Clone, Copy)]
struct TicketState(u64);

impl TicketState {
    const KIND: u64 = 0b11;
    const STARTED: u64 = 1 << 2;
    const FINISHED: u64 = 1 << 3;
    const LISTED: u64 = 1 << 4;
    const KEY_SHIFT: u32 = 5;

    fn new(slot: Slot, listed: bool) -> Self {
        let mut state = TicketState(if listed { Self::LISTED } else { 0 });
        state.set_slot(slot);
        state
    }

    fn listed(self) -> bool {
        self.0 & Self::LISTED != 0
    }

    fn slot(self) -> Slot {
        match self.0 & Self::KIND {
            0 => Slot::None,
            1 => Slot::Held,
            _ => Slot::Queued((self.0 >> Self::KEY_SHIFT).checked_sub(1)),
        }
    }

    fn set_slot(&mut self, slot: Slot) {
        let bits = match slot {
            Slot::None => 0,
            Slot::Held => 1,
            Slot::Queued(key) => {
                // Keys count the line's waiters from zero: 2^59 of them never come.
                let key = key.map_or(0, |k| k + 1);
                assert!(key < 1 << (64 - Self::KEY_SHIFT), "limit line key overflow");
                2 | key << Self::KEY_SHIFT
            }
        };
        self.0 = (self.0 & (Self::STARTED | Self::FINISHED | Self::LISTED)) | bits;
    }

    fn started(self) -> bool {
        self.0 & Self::STARTED != 0
    }

    fn finished(self) -> bool {
        self.0 & Self::FINISHED != 0
    }

    fn set_started(&mut self) {
        self.0 |= Self::STARTED;
    }

    fn set_finished(&mut self) {
        self.0 |= Self::FINISHED;
    }
}

/// A ticket's limit slot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// No slot: the group has no limit, or the task never got one (cancelled).
    None,
    /// A slot, given back when the outcome is recorded.
    Held,
    /// Admitted without a slot, from inside one of the group's own tasks at the limit: the
    /// task takes its turn for a slot before it starts (issue 20, item 3). The key is its
    /// place in the async line, once it has one.
    Queued(Option<u64>),
}

impl<T, E> Shared<T, E> {
    /// Admits a task: a limit slot (unless cancelled), an index, one more running.
    /// `Ok(None)`: the group is cancelled; the task was recorded as `Cancelled` and must not
    /// run.
    ///
    /// Called from inside one of the group's own tasks at the limit, a blocking admission does
    /// not wait: that slot may be freed only by the caller's own end (a directory walker at a
    /// limit of one, two tasks at two each adding a child). The task is admitted at once,
    /// queued: it takes its turn for a slot when it is run ([`Ticket::acquire_slot`],
    /// [`Ticket::poll_slot`]).
    ///
    /// `name` is the one given to `TaskGroup::named`, if any: stored only then.
    pub(crate) fn admit(
        self: &Arc<Self>,
        how: Admit,
        name: Option<Name>,
    ) -> Result<Option<Ticket<T, E>>, Refused> {
        let (acquired, mut slot) = if self.token.is_cancelled() {
            if let (Some(_), Admit::Acquired(Acquired::Slot)) = (&self.limit, &how) {
                // Handed a slot just before the cancellation: give it back.
                self.release_slot();
            }
            (Acquired::Cancelled, Slot::None)
        } else {
            match (&self.limit, how) {
                (None, _) => (Acquired::Slot, Slot::None),
                (Some(_), Admit::Acquired(acquired)) => (acquired, Slot::Held),
                (Some(limit), Admit::Block) => {
                    // Refuse a closed, finished group before blocking on its limit.
                    if self.finished() {
                        return Err(Refused::Closed);
                    }
                    if self.in_own_task() {
                        match limit.try_acquire() {
                            Some(acquired) => (acquired, Slot::Held),
                            None => (Acquired::Slot, Slot::Queued(None)),
                        }
                    } else {
                        (limit.acquire(), Slot::Held)
                    }
                }
                (Some(limit), Admit::Try) => {
                    (limit.try_acquire().ok_or(Refused::Full)?, Slot::Held)
                }
            }
        };
        if acquired == Acquired::Cancelled {
            slot = Slot::None;
        }
        // Only a named task is timed (see `pending`).
        let now = name.is_some().then(Instant::now);
        let cancelled = acquired == Acquired::Cancelled;
        let queued = matches!(slot, Slot::Queued(_));
        let listed = !cancelled && (name.is_some() || queued);
        // A snapshot (`pending`) reads how many tasks were admitted under the state lock: a
        // task with a table entry (named, queued) or an outcome written at once (cancelled)
        // is admitted under it too, so that no snapshot sees its index without the rest.
        // An unnamed task with a slot takes no lock: the snapshot lists it as it is.
        let mut state = (listed || cancelled).then(|| lock(&self.state));
        let index = match self.admissions.admit() {
            Ok(index) => index,
            Err(refusal) => {
                drop(state); // before the slot's release, which may wake
                if slot == Slot::Held {
                    self.release_slot();
                }
                match refusal {
                    Refusal::Closed => return Err(Refused::Closed),
                    Refusal::Overflow(why) => {
                        panic!("TaskGroup: cannot admit another task: {why}")
                    }
                }
            }
        };
        if cancelled {
            // Never runs: admitted and ended at once, with its outcome.
            self.slots.set(index, Err(TaskError::Cancelled));
            drop(state); // before the end, which may open the gate and wake
            self.end();
            #[cfg(feature = "tracing")]
            super::tracing::cancelled_at_admission(index, name.as_deref());
            return Ok(None);
        }
        #[cfg(feature = "tracing")]
        let span_name = name.clone();
        if let Some(state) = &mut state {
            state.pending.admit(index, name.zip(now), queued);
        }
        drop(state);
        // After the lock: a subscriber's code runs here.
        #[cfg(feature = "tracing")]
        let span = super::tracing::span(index, span_name.as_deref());
        Ok(Some(Ticket {
            shared: Arc::clone(self),
            index,
            state: TicketState::new(slot, listed),
            #[cfg(feature = "tracing")]
            span,
        }))
    }

    /// An admitted task has ended (its outcome is in its slot): the last end after the
    /// close opens the gate, releasing the waits.
    fn end(&self) {
        if self.admissions.end() {
            self.wg.done();
        }
    }

    /// Closes the group (a wait begins, or the group is dropped); opens the gate if no task
    /// runs. Returns how many tasks were running.
    fn close(&self) -> usize {
        let (opened, running) = self.admissions.close();
        if opened {
            // No waiter is registered yet (each closes first, and this is the first close):
            // this wakes nobody.
            self.wg.done();
        }
        running
    }

    /// Whether this thread is running (or polling) one of this group's own tasks.
    pub(crate) fn in_own_task(self: &Arc<Self>) -> bool {
        let address = Arc::as_ptr(self) as *const () as usize;
        CURRENT_GROUP.with(std::cell::Cell::get) == address
    }

    fn finished(&self) -> bool {
        self.admissions.finished()
    }

    /// Gives the slot back (a waker's panic continues after every waiter was woken).
    fn release_slot(&self) {
        let mut panic = FirstPanic::new();
        self.release_slot_collecting(&mut panic);
        panic.resume();
    }

    fn release_slot_collecting(&self, panic: &mut FirstPanic) {
        if let Some(limit) = &self.limit {
            limit.release(panic);
        }
    }
}

// The group whose thread task runs on this thread (its address; 0: none), so that a wait
// from inside one of its own tasks panics instead of waiting for itself forever. Under loom,
// whose model threads are coroutines on one OS thread, loom's thread-local: with std's, a
// model's threads would share it, and a wait on the main thread would see a blocked worker's
// group (and an admission at the limit would take itself for a task's child).
#[cfg(not(groupwait_loom))]
std::thread_local! {
    static CURRENT_GROUP: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
#[cfg(groupwait_loom)]
loom::thread_local! {
    static CURRENT_GROUP: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// Marks this thread as running a task of the group at `address` while it lives.
/// With the `tracing` feature, the task's span is entered for as long.
pub(crate) struct InTask {
    /// The group marked before (0: none), put back on drop.
    previous: usize,
    /// Exited when dropped, after `previous` is put back.
    #[cfg(feature = "tracing")]
    _span: ::tracing::span::EnteredSpan,
}

impl InTask {
    pub(crate) fn enter<T, E>(ticket: &Ticket<T, E>) -> Self {
        let address = Arc::as_ptr(&ticket.shared) as *const () as usize;
        InTask {
            previous: CURRENT_GROUP.with(|c| c.replace(address)),
            #[cfg(feature = "tracing")]
            _span: ticket.span.clone().entered(),
        }
    }
}

impl Drop for InTask {
    fn drop(&mut self) {
        CURRENT_GROUP.with(|c| c.set(self.previous));
    }
}

impl<T, E> Ticket<T, E> {
    /// A queued task (see [`Shared::admit`]) takes its turn for a slot, blocking; returns at
    /// once for any other. If the group is cancelled meanwhile, it gets none (and `start`
    /// then skips the task).
    pub(crate) fn acquire_slot(&mut self) {
        if let (Slot::Queued(_), Some(limit)) = (self.state.slot(), &self.shared.limit) {
            self.state.set_slot(match limit.acquire() {
                Acquired::Slot => Slot::Held,
                Acquired::Cancelled => Slot::None,
            });
            self.got_slot();
        }
    }

    /// A queued task's wait for a slot is over: it is no longer listed as waiting.
    fn got_slot(&self) {
        let now = Instant::now();
        lock(&self.shared.state).pending.got_slot(self.index, now);
    }

    /// The async [`acquire_slot`](Self::acquire_slot). Dropped while in line, the ticket
    /// gives its place up (and a slot already handed to it goes to the next in line).
    pub(crate) fn poll_slot(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let (Slot::Queued(mut key), Some(limit)) = (self.state.slot(), &self.shared.limit) else {
            return std::task::Poll::Ready(());
        };
        let polled = limit.poll_acquire(cx, &mut key);
        self.state.set_slot(match polled {
            std::task::Poll::Pending => Slot::Queued(key),
            std::task::Poll::Ready(Acquired::Slot) => Slot::Held,
            std::task::Poll::Ready(Acquired::Cancelled) => Slot::None,
        });
        if polled.is_ready() {
            self.got_slot();
        }
        polled.map(drop)
    }

    /// Whether the task must be skipped (the group was cancelled before it started); marks
    /// it started otherwise.
    pub(crate) fn start(&mut self) -> bool {
        if self.shared.token.is_cancelled() {
            return false;
        }
        self.state.set_started();
        true
    }

    /// Whether [`start`](Self::start) has marked the task started.
    pub(crate) fn started(&self) -> bool {
        self.state.started()
    }

    /// Records the outcome, cancels the group if it is the first error, gives the slot back
    /// and ends the task (one less running; the last end after a wait began opens the gate).
    pub(crate) fn finish(mut self, outcome: Result<T, TaskError<E>>) {
        self.state.set_finished();
        self.record(outcome);
    }

    fn record(&self, outcome: Result<T, TaskError<E>>) {
        let shared = &*self.shared;
        // The cause is built (the panic message copied) before taking the lock.
        let cause = match &outcome {
            Err(TaskError::Failed(_)) => Some(Cause::Failed { task: self.index }),
            Err(TaskError::Panicked(payload)) => Some(Cause::Panicked {
                task: self.index,
                message: payload_message(payload.as_ref()).map(str::to_owned),
            }),
            Err(TaskError::Abandoned) => Some(Cause::Abandoned { task: self.index }),
            _ => None,
        };
        #[cfg(feature = "tracing")]
        super::tracing::outcome(&self.span, &outcome);
        shared.slots.set(self.index, outcome);
        if self.state.listed() {
            let name = lock(&shared.state).pending.finish(self.index);
            drop(name); // outside the lock
        }
        // Relaxed: which error is first is this exchange's order alone; the index is read by
        // the wait through the gate (this task's end is a Release after it).
        let first = cause.is_some()
            && shared
                .first_error
                .compare_exchange(
                    NO_ERROR,
                    self.index as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        // Every step runs whatever a waker does (issue 20, item 5): a panicking `wake` in the
        // cancellation or the slot's release is kept until the end has run, then continues
        // (not while unwinding: a ticket dropped by a panic, item 6).
        let mut panic = FirstPanic::new();
        // Cancel before the `done`: a waiter released by it sees the group cancelled.
        if first && shared.cancel_on_error {
            shared
                .token
                .cancel_collecting(cause.expect("an error has a cause"), &mut panic);
        }
        match self.state.slot() {
            Slot::Held => shared.release_slot_collecting(&mut panic),
            // Never got its turn: its place in line is given up.
            Slot::Queued(key @ Some(_)) => {
                if let Some(limit) = &shared.limit {
                    panic.run(|| limit.unregister(key));
                }
            }
            Slot::Queued(None) | Slot::None => {}
        }
        // The end publishes the outcome written above (its Release, see `Admissions::end`)
        // to the wait that the gate releases.
        if panic.panicked() {
            panic.run(|| shared.end());
            panic.resume();
        } else {
            shared.end();
        }
    }
}

impl<T, E> Drop for Ticket<T, E> {
    fn drop(&mut self) {
        if !self.state.finished() {
            self.state.set_finished();
            let outcome = if self.state.started() {
                TaskError::Abandoned
            } else {
                TaskError::Cancelled
            };
            self.record(Err(outcome));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Slot, TicketState};

    #[test]
    fn a_ticket_state_keeps_its_slot_and_flags_apart() {
        for slot in [
            Slot::None,
            Slot::Held,
            Slot::Queued(None),
            Slot::Queued(Some(0)),
            Slot::Queued(Some(12_345)),
            Slot::Queued(Some((1 << 59) - 2)),
        ] {
            for listed in [false, true] {
                let mut state = TicketState::new(slot, listed);
                assert!(slot == state.slot() && state.listed() == listed);
                assert!(!state.started() && !state.finished());
                state.set_started();
                state.set_slot(Slot::Queued(Some(7)));
                state.set_slot(slot);
                state.set_finished();
                assert!(slot == state.slot() && state.started() && state.finished());
                assert!(state.listed() == listed);
            }
        }
    }
}
