//! The `tracing` feature (issue 23): a span per task of a group, carrying its submission
//! index and name, entered while the task runs (a thread task's closure, each poll of a future
//! task), and one event in it for the task's outcome. Compiled only with the feature: without
//! it nothing here exists and no task pays for it.
//!
//! The span is `task` at the `DEBUG` level, target `groupwait::task_group`, fields
//! `task.index` and `task.name` (absent when unnamed). The outcome event's field `outcome` is
//! `ok`, `cancelled` (at `DEBUG`), `failed`, `panicked` (with `panic.message` when it is a
//! string) or `abandoned` (at `WARN`). A task cancelled at admission gets no span, only its
//! event.

use super::error::{payload_message, TaskError};
use tracing::{event, span, Level, Span};

/// The span of task `index`; created outside every lock of ours (a subscriber's code runs).
pub(crate) fn span(index: usize, name: Option<&str>) -> Span {
    span!(
        target: "groupwait::task_group",
        Level::DEBUG,
        "task",
        task.index = index,
        task.name = name,
    )
}

/// The event for a task's outcome, in its span. Called before the outcome is recorded, outside
/// the group's lock.
pub(crate) fn outcome<T, E>(span: &Span, outcome: &Result<T, TaskError<E>>) {
    const TARGET: &str = "groupwait::task_group";
    match outcome {
        Ok(_) => event!(target: TARGET, parent: span, Level::DEBUG, outcome = "ok"),
        Err(TaskError::Cancelled) => {
            event!(target: TARGET, parent: span, Level::DEBUG, outcome = "cancelled");
        }
        Err(TaskError::Failed(_)) => {
            event!(target: TARGET, parent: span, Level::WARN, outcome = "failed");
        }
        Err(TaskError::Panicked(payload)) => event!(
            target: TARGET,
            parent: span,
            Level::WARN,
            outcome = "panicked",
            panic.message = payload_message(payload.as_ref()),
        ),
        Err(TaskError::Abandoned) => {
            event!(target: TARGET, parent: span, Level::WARN, outcome = "abandoned");
        }
    }
}

/// The event for a task recorded `Cancelled` at admission (the group was already cancelled):
/// it never runs, so it has no span.
pub(crate) fn cancelled_at_admission(index: usize, name: Option<&str>) {
    event!(
        target: "groupwait::task_group",
        Level::DEBUG,
        task.index = index,
        task.name = name,
        outcome = "cancelled",
    );
}
