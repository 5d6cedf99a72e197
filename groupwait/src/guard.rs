//! `Guard`: one unit of a group's counter, given back on drop, even by a panic.

use crate::wait_group::{WaitGroup, GUARD_PANIC};
use std::fmt;

/// One unit of a [`WaitGroup`]'s counter, released (`done`) when the guard is dropped.
///
/// Made by [`WaitGroup::guard`]. Because the `done` runs in `Drop`, it also runs when the task
/// holding the guard panics, so a panicking task never leaves its waiter blocked forever.
///
/// # Panics under a guard
///
/// A guard dropped while its thread is panicking records the fact on the group: the `wait`
/// that the group's last `done` releases then panics too, with a message saying that a guarded
/// task panicked (the original payload stays with the panicking thread, which already reported
/// it, and which `join` returns). So a failed task is never mistaken for a finished one. To
/// carry the original payload to the waiter, spawn with [`WaitGroup::go`] or
/// [`WaitGroup::go_scoped`] instead.
///
/// # Examples
///
/// ```
/// use groupwait::WaitGroup;
///
/// let wg = WaitGroup::new();
/// std::thread::scope(|s| {
///     for _ in 0..3 {
///         let guard = wg.guard();
///         s.spawn(move || {
///             // ... work ...
///             drop(guard);
///         });
///     }
///     wg.wait();
/// });
/// ```
///
/// # Panics
///
/// Dropping a guard panics only if the group's counter is already zero (some other code
/// called `done` too often), with `negative WaitGroup counter`; never during a panic.
#[must_use = "dropping the guard at once calls `done` at once"]
pub struct Guard<'a> {
    wg: &'a WaitGroup,
}

impl<'a> Guard<'a> {
    /// Takes over one unit that the caller already added to `wg`.
    pub(crate) fn adopt(wg: &'a WaitGroup) -> Self {
        Guard { wg }
    }

    /// The group this guard holds a unit of.
    pub(crate) fn group(&self) -> &'a WaitGroup {
        self.wg
    }
}

impl WaitGroup {
    /// Adds one to the counter and returns a [`Guard`] that calls [`done`](Self::done) when
    /// dropped, also when the holder panics (see [`Guard`] for what the waiter then sees).
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add)`(1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// assert_eq!(wg.count(), 1);
    /// drop(guard);
    /// assert_eq!(wg.count(), 0);
    /// ```
    #[track_caller]
    pub fn guard(&self) -> Guard<'_> {
        self.add(1);
        Guard::adopt(self)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.wg.record_panic(Box::new(GUARD_PANIC));
            // A second panic here would abort the process; a misuse elsewhere that makes
            // this `done` fail is left for the waiter's checks to report.
            let _ = self.wg.try_add(-1);
        } else {
            self.wg.done();
        }
    }
}

impl fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("group", self.wg).finish()
    }
}
