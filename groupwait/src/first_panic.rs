//! `FirstPanic`: steps that must all run even if one of them panics (a waker's `wake`, giving
//! a limit's slot back, a task's `done`), and the first panic, continued once they all ran.
//!
//! A `wake` is the executor's code and may panic. Skipping what follows it would hang others:
//! the remaining wakers, the limit's cancellation, the slot, the group's `done` (issue 20,
//! item 5). And the first panic must never be resumed while the thread is already unwinding
//! (a guard or a task's ticket dropped by a panic): a panic escaping a destructor during
//! unwinding aborts the process (item 6). Then it is dropped instead: the thread is failing
//! anyway, with the panic that started the unwinding.

use crate::panic_slot::Payload;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// The first panic of a series of steps that all run.
#[must_use = "the first panic is lost unless `resume` is called"]
pub(crate) struct FirstPanic(Option<Payload>);

impl FirstPanic {
    /// No panic yet.
    pub(crate) const fn new() -> Self {
        FirstPanic(None)
    }

    /// Runs `step`, catching its panic; the first one caught is kept, later ones dropped
    /// (the panic hook already reported each).
    pub(crate) fn run(&mut self, step: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(step)) {
            self.keep(payload);
        }
    }

    /// Keeps `payload` if it is the first panic, drops it otherwise.
    pub(crate) fn keep(&mut self, payload: Payload) {
        match self.0 {
            None => self.0 = Some(payload),
            Some(_) => drop_payload(payload),
        }
    }

    /// Whether a step panicked.
    pub(crate) fn panicked(&self) -> bool {
        self.0.is_some()
    }

    /// Continues the first panic, if any: see [`resume_unless_unwinding`].
    pub(crate) fn resume(self) {
        if let Some(payload) = self.0 {
            resume_unless_unwinding(payload);
        }
    }
}

/// Continues `payload`'s panic, unless this thread is already unwinding (a destructor run by a
/// panic): then a resumed panic would abort the process, and the payload is dropped instead.
pub(crate) fn resume_unless_unwinding(payload: Payload) {
    if std::thread::panicking() {
        drop_payload(payload);
    } else {
        resume_unwind(payload);
    }
}

/// Drops a payload that will not be resumed. A payload's destructor is user code: if it
/// panics in turn, that panic is caught and its own payload leaked, so that nothing unwinds
/// out of here (which could be a destructor run during unwinding).
fn drop_payload(payload: Payload) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_runs_and_the_first_panic_continues() {
        let mut ran = Vec::new();
        let mut first = FirstPanic::new();
        assert!(!first.panicked());
        first.run(|| ran.push(1));
        first.run(|| std::panic::panic_any("first"));
        first.run(|| ran.push(2));
        first.run(|| std::panic::panic_any("second"));
        first.run(|| ran.push(3));
        assert!(first.panicked());
        assert_eq!(ran, [1, 2, 3]);
        let payload = catch_unwind(AssertUnwindSafe(|| first.resume())).unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"first"));
    }

    #[test]
    fn nothing_is_resumed_without_a_panic() {
        let mut first = FirstPanic::new();
        first.run(|| {});
        first.resume();
    }

    // Not resuming while unwinding is tested in a child process (an abort would take the
    // whole test binary down): tests-integration/tests/unwinding.rs.
}
