//! `TaskError`, a task's failure as a value, and `TrySpawnError`, a task handed back.

use std::any::Any;
use std::fmt;

/// A panic payload, as `std::panic::catch_unwind` returns it.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::Payload;
///
/// let payload: Payload = std::panic::catch_unwind(|| panic!("oops")).unwrap_err();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"oops"));
/// ```
pub type Payload = Box<dyn Any + Send + 'static>;

/// Why a task of a [`TaskGroup`](super::TaskGroup) did not produce its value.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::{TaskError, TaskGroup};
///
/// let group = TaskGroup::<u32, String>::new();
/// group.spawn(|| Err("disk on fire".to_string()));
/// match group.wait() {
///     Err(TaskError::Failed(e)) => assert_eq!(e, "disk on fire"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[non_exhaustive]
pub enum TaskError<E> {
    /// The task ran and returned `Err(e)`.
    Failed(E),
    /// The task panicked. The panic hook reported it on the task's thread when it happened;
    /// this is its payload, for the waiter to log or to re-raise with
    /// [`std::panic::resume_unwind`] (see [`TaskError::resume_if_panicked`]).
    Panicked(Payload),
    /// The task never started: the group was cancelled first (by an error, a panic,
    /// [`cancel`](super::TaskGroup::cancel), its deadline or its drop).
    Cancelled,
    /// A future task was dropped after it had started and before it completed (its
    /// executor shut down, or the future was dropped by hand).
    Abandoned,
}

impl<E> TaskError<E> {
    /// The panic message, if this is a panic whose payload is a string (as `panic!` makes).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{TaskError, TaskGroup};
    ///
    /// # let hook = std::panic::take_hook();
    /// # std::panic::set_hook(Box::new(|_| {}));
    /// let group = TaskGroup::<(), ()>::new();
    /// group.spawn(|| panic!("boom"));
    /// let error = group.wait().unwrap_err();
    /// # std::panic::set_hook(hook);
    /// assert_eq!(error.panic_message(), Some("boom"));
    /// ```
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => payload_message(payload.as_ref()),
            _ => None,
        }
    }

    /// Re-raises the task's panic on this thread if this is [`TaskError::Panicked`];
    /// otherwise returns the error unchanged. Nothing is re-raised unless you call this.
    ///
    /// # Panics
    ///
    /// With the task's own payload, when this is a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::{TaskError, TaskGroup};
    ///
    /// let group = TaskGroup::<(), &str>::new();
    /// group.spawn(|| Err("no"));
    /// let error = group.wait().unwrap_err().resume_if_panicked();
    /// assert!(matches!(error, TaskError::Failed("no")));
    /// ```
    #[must_use]
    pub fn resume_if_panicked(self) -> Self {
        match self {
            TaskError::Panicked(payload) => std::panic::resume_unwind(payload),
            other => other,
        }
    }
}

/// The text of a `panic!` payload (`&'static str` or `String`), if it is one.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f
                    .debug_tuple("Panicked")
                    .field(&"<non-string payload>")
                    .finish(),
            },
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Abandoned => f.write_str("Abandoned"),
        }
    }
}

/// Two errors are equal if they are the same variant with equal errors; two panics are equal
/// if both have the same string message (payloads of other types are never equal).
impl<E: PartialEq> PartialEq for TaskError<E> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TaskError::Failed(a), TaskError::Failed(b)) => a == b,
            (TaskError::Panicked(a), TaskError::Panicked(b)) => {
                match (payload_message(a.as_ref()), payload_message(b.as_ref())) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                }
            }
            (TaskError::Cancelled, TaskError::Cancelled)
            | (TaskError::Abandoned, TaskError::Abandoned) => true,
            _ => false,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => write!(f, "task failed: {e}"),
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked"),
            },
            TaskError::Cancelled => f.write_str("task not started: the group was cancelled"),
            TaskError::Abandoned => f.write_str("task dropped before it completed"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TaskError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TaskError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A task refused by a `try_` form, handed back to the caller.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::{TaskGroup, TrySpawnError};
/// use std::sync::mpsc;
///
/// let group = TaskGroup::<(), ()>::with_limit(1);
/// let (release, gate) = mpsc::channel::<()>();
/// group.spawn(move || gate.recv().map_err(drop)); // holds the only slot
/// let refused = group.try_spawn(|| Ok(())).unwrap_err();
/// assert!(matches!(refused, TrySpawnError::Full(_)));
/// let _task = refused.into_inner(); // the closure, back in our hands
/// release.send(()).unwrap();
/// group.wait().unwrap();
/// ```
#[derive(PartialEq, Eq)]
pub enum TrySpawnError<F> {
    /// Every slot of the group's limit is taken.
    Full(F),
    /// The group was waited on and all its tasks have finished: it takes no more tasks.
    Closed(F),
}

impl<F> TrySpawnError<F> {
    /// The task that was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TrySpawnError;
    ///
    /// assert_eq!(TrySpawnError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            TrySpawnError::Full(f) | TrySpawnError::Closed(f) => f,
        }
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str("Full(..)"),
            TrySpawnError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str("every slot of the task group's limit is taken"),
            TrySpawnError::Closed(_) => {
                f.write_str("the task group is closed: it was waited on and has finished")
            }
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}
