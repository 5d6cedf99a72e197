//! The outcome of a round as a value: `Panicked`, and which kind of task panicked.

use crate::panic_slot::{Payload, Report};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Which kind of counted task panicked. Part of [`Panicked`].
///
/// # Examples
///
/// ```
/// use groupwait::{TaskKind, WaitGroup};
///
/// static WG: WaitGroup = WaitGroup::new();
/// let guard = WG.guard_static();
/// let worker = std::thread::spawn(move || {
///     let _guard = guard;
///     panic!("task failed");
/// });
/// assert!(worker.join().is_err());
/// let report = WG.wait_outcome().unwrap_err();
/// assert_eq!(report.kind(), TaskKind::Guard);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskKind {
    /// A thread started by [`WaitGroup::go`](crate::WaitGroup::go) or
    /// [`go_static`](crate::WaitGroup::go_static).
    Go,
    /// A scoped thread started by [`WaitGroup::go_scoped`](crate::WaitGroup::go_scoped).
    GoScoped,
    /// A future run under [`WaitGroup::track`](crate::WaitGroup::track) or
    /// [`track_owned`](crate::WaitGroup::track_owned).
    Track,
    /// Code holding a [`Guard`](crate::Guard) or an [`OwnedGuard`](crate::OwnedGuard): its
    /// payload stays with its thread; the report's payload is a fixed message.
    Guard,
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskKind::Go => "a `go` thread",
            TaskKind::GoScoped => "a `go_scoped` thread",
            TaskKind::Track => "a tracked future",
            TaskKind::Guard => "a task holding a guard",
        })
    }
}

/// Tasks of the round panicked: the error of the outcome waits
/// ([`wait_outcome`](crate::WaitGroup::wait_outcome),
/// [`wait_timeout_outcome`](crate::WaitGroup::wait_timeout_outcome),
/// [`wait_deadline_outcome`](crate::WaitGroup::wait_deadline_outcome),
/// [`wait_outcome_async`](crate::WaitGroup::wait_outcome_async)).
///
/// Every waiter of a round in which tasks panicked receives one: exactly one of them (the first
/// to look) gets the first panic's payload ([`take_payload`](Self::take_payload)); the
/// others get the same report without it ([`handed_elsewhere`](Self::handed_elsewhere) is
/// `true`). All of them see how many tasks panicked, the first one's kind and, if its payload
/// was a string, its message.
///
/// The report stays with the group until the `add` that starts the next round (or the
/// group's drop): a waiter that comes after the round ended, before the next `add`, is a
/// waiter of that round too. A payload nobody took is kept into the next round.
///
/// `Panicked` is `Send + Sync + 'static` and implements [`std::error::Error`], so `?` can turn
/// it into a `Box<dyn Error + Send + Sync>` or an `anyhow::Error`.
///
/// # Examples
///
/// ```
/// use groupwait::{TaskKind, WaitGroup};
/// use std::sync::Arc;
///
/// let wg = Arc::new(WaitGroup::new());
/// wg.go(|| panic!("disk full"));
/// wg.go(|| {});
/// let mut report = wg.wait_outcome().unwrap_err();
/// assert_eq!(report.count(), 1);
/// assert_eq!(report.kind(), TaskKind::Go);
/// assert_eq!(report.message(), Some("disk full"));
/// assert!(!report.handed_elsewhere());
/// let payload = report.take_payload().unwrap();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"disk full"));
///
/// // A second waiter of the same round learns of it too, without the payload.
/// let second = wg.wait_outcome().unwrap_err();
/// assert!(second.handed_elsewhere());
/// assert_eq!(second.count(), 1);
///
/// // The next round starts clean.
/// wg.go(|| {});
/// assert!(wg.wait_outcome().is_ok());
/// ```
///
/// # Panics
///
/// Its methods never panic, except [`resume_unwind`](Self::resume_unwind), which does.
#[non_exhaustive]
pub struct Panicked {
    /// The first panic's payload, for the one waiter that took it. In a `Mutex` only so that
    /// `Panicked` is `Sync` (error libraries require it); it is locked only by `&self` methods.
    payload: Mutex<Option<Payload>>,
    message: Option<Arc<str>>,
    count: usize,
    kind: TaskKind,
    handed_elsewhere: bool,
}

impl Panicked {
    /// Builds the outcome of one waiter from the round's report, taking the payload if it is
    /// still there. Called under the report's lock: no user code runs here.
    pub(crate) fn from_report(report: &mut Report) -> Self {
        let payload = report.payload.take();
        Panicked {
            handed_elsewhere: payload.is_none(),
            payload: Mutex::new(payload),
            message: report.message.clone(),
            count: report.count,
            kind: report.kind,
        }
    }

    /// How many tasks of the group panicked since the report was made (in this round, plus
    /// earlier rounds whose payload nobody took).
    #[must_use]
    pub fn count(&self) -> usize {
        self.count
    }

    /// The kind of the first task that panicked.
    #[must_use]
    pub fn kind(&self) -> TaskKind {
        self.kind
    }

    /// The first panic's message, if its payload was a `&str` or a `String` (for a guard, the
    /// guard's fixed message). Every waiter sees it, also those without the payload.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Whether the payload went to another waiter of the round (this one has none).
    #[must_use]
    pub fn handed_elsewhere(&self) -> bool {
        self.handed_elsewhere
    }

    /// Takes the first panic's payload, if this waiter received it (at most once).
    #[must_use]
    pub fn take_payload(&mut self) -> Option<Box<dyn Any + Send + 'static>> {
        self.payload
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// The first panic's payload, if this waiter received it.
    #[must_use]
    pub fn into_payload(self) -> Option<Box<dyn Any + Send + 'static>> {
        self.payload
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Re-raises the panic on this thread: the payload with
    /// [`std::panic::resume_unwind`] if this waiter has it (what [`wait`](crate::WaitGroup::wait)
    /// does), otherwise a panic whose message is this report's `Display`.
    ///
    /// # Panics
    ///
    /// Always: that is its purpose.
    pub fn resume_unwind(mut self) -> ! {
        match self.take_payload() {
            Some(payload) => std::panic::resume_unwind(payload),
            None => panic!("{self}"),
        }
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = if self.count == 1 { "task" } else { "tasks" };
        write!(
            f,
            "groupwait: {} {tasks} of the WaitGroup panicked, the first was {}",
            self.count, self.kind
        )?;
        match &self.message {
            // A guard's report carries the fixed payload of the guard (it never sees the
            // panic's own), whose words, prefix included, would repeat the line's.
            Some(_) if self.kind == TaskKind::Guard => {
                f.write_str(" (its own message was reported on its thread)")?;
            }
            Some(message) => write!(f, ": {message}")?,
            None => {}
        }
        if self.handed_elsewhere {
            f.write_str(" (its payload was handed to another waiter of the round)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panicked")
            .field("count", &self.count)
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("handed_elsewhere", &self.handed_elsewhere)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for Panicked {}

/// The message of a payload that is a string.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> Option<Arc<str>> {
    if let Some(text) = payload.downcast_ref::<&str>() {
        Some(Arc::from(*text))
    } else {
        payload
            .downcast_ref::<String>()
            .map(|text| Arc::from(text.as_str()))
    }
}

// How an outcome future gets the outcome from the `Wait` it polls without changing `Wait`:
// `Wait::poll` ends a released wait with `WaitGroup::finish_released_async` or
// `raise_pending_panic`, which hand a `Panicked` to `deliver`. While a `WaitOutcome` polls its
// inner `Wait` on this thread, `CAPTURING` is set and `deliver` stores the report here instead
// of re-raising it. A poll runs start to end on one thread and polls nothing else, so the
// capture cannot be seen by another waiter.
// (Under loom, whose model threads are coroutines on one OS thread, loom's thread-locals.)
#[cfg(not(groupwait_loom))]
thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Option<Panicked>> = const { RefCell::new(None) };
}
#[cfg(groupwait_loom)]
loom::thread_local! {
    static CAPTURING: Cell<bool> = Cell::new(false);
    static CAPTURED: RefCell<Option<Panicked>> = RefCell::new(None);
}

/// Hands a waiter's report to the outcome future polling on this thread, or re-raises it.
pub(crate) fn deliver(report: Panicked) {
    if CAPTURING.with(Cell::get) {
        CAPTURED.with(|captured| *captured.borrow_mut() = Some(report));
    } else {
        report.resume_unwind()
    }
}

/// Runs `poll` with reports captured instead of raised; returns its result and the report.
pub(crate) fn capturing<T>(poll: impl FnOnce() -> T) -> (T, Option<Panicked>) {
    /// Restores the previous capture state, also if `poll` unwinds (Go's reuse check).
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAPTURING.with(|capturing| capturing.set(self.0));
        }
    }
    let restore = Restore(CAPTURING.with(|capturing| capturing.replace(true)));
    let result = poll();
    drop(restore);
    let report = CAPTURED.with(|captured| captured.borrow_mut().take());
    (result, report)
}
