//! Thread tasks: `spawn` (`'static`), `spawn_scoped` (borrows locals) and their `try_` forms.

use super::error::{TaskError, TrySpawnError};
use super::group::{Admit, InTask, Refused, TaskGroup, Ticket};
use super::pending::Name;
use super::pool;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::Scope;

/// Runs `f` for `ticket` (unless the group was cancelled first) and records its outcome.
/// A panic is caught here, after the panic hook has reported it on this thread.
pub(crate) fn run<T, E>(mut ticket: Ticket<T, E>, f: impl FnOnce() -> Result<T, E>) {
    ticket.acquire_slot(); // a task queued by one of the group's own tasks waits here
    if !ticket.start() {
        drop(f); // never started: its captures are dropped, outside every lock
        ticket.finish(Err(TaskError::Cancelled));
        return;
    }
    let in_task = InTask::enter(&ticket);
    let outcome = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(TaskError::Failed(error)),
        Err(payload) => Err(TaskError::Panicked(payload)),
    };
    drop(in_task);
    ticket.finish(outcome);
}

const CLOSED: &str = "TaskGroup: task added after the group was waited on and all its tasks \
                      had finished (the group is closed)";

impl<T, E> TaskGroup<T, E> {
    /// Runs `f` as a task of the group on a worker thread of the process's task pool: Go's
    /// `errgroup.Go`. A worker that finishes a task takes the next one; a task never waits
    /// long behind busy workers (see the [module docs](super), **Threads**: which work belongs
    /// here, when idle workers exit, and the thread-locals a task leaves behind).
    ///
    /// At the limit, blocks until a slot is free or the group is cancelled; called from one of
    /// the group's own tasks, it does not block: the task is queued and its thread starts
    /// when a slot frees (see the [module docs](super), **Limit**). If the group is
    /// cancelled (before or while this blocks), `f` is not run and the task's outcome is
    /// [`TaskError::Cancelled`]. A panic in `f` is reported by the panic hook on the task's
    /// thread and becomes its outcome ([`TaskError::Panicked`]), cancelling the group.
    ///
    /// # Panics
    ///
    /// If the group is closed: a wait has begun and every task has finished. Also if no
    /// worker thread is left and none can be created (as `std::thread::spawn`); the queued
    /// tasks are then recorded as [`TaskError::Cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let group = TaskGroup::<u32, std::num::ParseIntError>::new();
    /// for text in ["6", "7"] {
    ///     group.spawn(move || text.parse::<u32>());
    /// }
    /// let numbers = group.wait().expect("both parse");
    /// assert_eq!(numbers, [6, 7]); // in submission order
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.spawn_with(None, f);
    }

    /// [`spawn`](Self::spawn) with an optional name (`TaskGroup::named`).
    #[track_caller]
    pub(crate) fn spawn_with<F>(&self, name: Option<Name>, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        match self.shared.admit(Admit::Block, name) {
            Ok(Some(ticket)) => {
                pool::submit(Box::new(move || run(ticket, f)));
            }
            Ok(None) => drop(f),
            Err(_) => panic!("{CLOSED}"),
        }
    }

    /// Like [`spawn`](Self::spawn), but never blocks: at the limit, or once the group is
    /// closed, the task is handed back.
    ///
    /// # Errors
    ///
    /// [`TrySpawnError::Full`] at the limit, [`TrySpawnError::Closed`] once closed; both
    /// hold `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let group = TaskGroup::<(), ()>::with_limit(1);
    /// group.try_spawn(|| Ok(())).expect("a slot is free");
    /// group.wait().unwrap();
    /// assert!(group.try_spawn(|| Ok(())).is_err()); // closed
    /// ```
    pub fn try_spawn<F>(&self, f: F) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.try_spawn_with(None, f)
    }

    /// [`try_spawn`](Self::try_spawn) with an optional name (`TaskGroup::named`).
    pub(crate) fn try_spawn_with<F>(&self, name: Option<Name>, f: F) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        match self.shared.admit(Admit::Try, name) {
            Ok(Some(ticket)) => {
                pool::submit(Box::new(move || run(ticket, f)));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(Refused::Full) => Err(TrySpawnError::Full(f)),
            Err(Refused::Closed) => Err(TrySpawnError::Closed(f)),
        }
    }

    /// Runs `f` on a new thread of `scope`, so it may borrow locals: the group form of
    /// `WaitGroup::go_scoped`. Otherwise as [`spawn`](Self::spawn).
    ///
    /// Each scoped task is a new OS thread (tens of microseconds), not a worker of the pool:
    /// a queue of jobs that borrow the scope would have to live as long as the scope and be
    /// reachable from each call, and neither `std::thread::Scope` nor the group (whose type
    /// does not name the scope) can hold one without `unsafe` lifetime erasure, which this
    /// crate forbids. For many small borrowing tasks, give each thread a share of the work
    /// (chunks), or use `rayon::scope`; for `'static` tasks, [`spawn`](Self::spawn).
    ///
    /// # Panics
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let words = vec!["alpha".to_string(), "beta".to_string()];
    /// let group = TaskGroup::<usize, ()>::with_limit(2);
    /// std::thread::scope(|s| {
    ///     for w in &words {
    ///         group.spawn_scoped(s, move || Ok(w.len()));
    ///     }
    ///     assert_eq!(group.wait(), Ok(vec![5, 4]));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F>(&self, scope: &'scope Scope<'scope, 'env>, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        self.spawn_scoped_with(None, scope, f);
    }

    /// [`spawn_scoped`](Self::spawn_scoped) with an optional name (`TaskGroup::named`).
    #[track_caller]
    pub(crate) fn spawn_scoped_with<'scope, 'env, F>(
        &self,
        name: Option<Name>,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        match self.shared.admit(Admit::Block, name) {
            Ok(Some(ticket)) => {
                scope.spawn(move || run(ticket, f));
            }
            Ok(None) => drop(f),
            Err(_) => panic!("{CLOSED}"),
        }
    }

    /// Like [`spawn_scoped`](Self::spawn_scoped), but never blocks; see
    /// [`try_spawn`](Self::try_spawn).
    ///
    /// # Errors
    ///
    /// As [`try_spawn`](Self::try_spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// let data = [1, 2, 3];
    /// let group = TaskGroup::<i32, ()>::with_limit(3);
    /// std::thread::scope(|s| {
    ///     group.try_spawn_scoped(s, || Ok(data.iter().sum())).unwrap();
    ///     assert_eq!(group.wait(), Ok(vec![6]));
    /// });
    /// ```
    pub fn try_spawn_scoped<'scope, 'env, F>(
        &self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        self.try_spawn_scoped_with(None, scope, f)
    }

    /// [`try_spawn_scoped`](Self::try_spawn_scoped) with an optional name
    /// (`TaskGroup::named`).
    pub(crate) fn try_spawn_scoped_with<'scope, 'env, F>(
        &self,
        name: Option<Name>,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        match self.shared.admit(Admit::Try, name) {
            Ok(Some(ticket)) => {
                scope.spawn(move || run(ticket, f));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(Refused::Full) => Err(TrySpawnError::Full(f)),
            Err(Refused::Closed) => Err(TrySpawnError::Closed(f)),
        }
    }
}
