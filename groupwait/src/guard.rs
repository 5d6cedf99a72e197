//! `Guard`: one unit of a group's counter, given back on drop, even by a panic.

use crate::outcome::TaskKind;
use crate::wait_group::{WaitGroup, GUARD_PANIC};
use std::fmt;
use std::sync::Arc;

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
/// A `Guard` borrows its group. For jobs that must be `'static` (`rayon::spawn`,
/// `tokio::task::spawn_blocking`, thread pools), use an [`OwnedGuard`]
/// ([`WaitGroup::guard_owned`] on an `Arc`, [`WaitGroup::guard_static`] on a `static`).
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
    /// The guard borrows the group, so it cannot go into a job that must be `'static`
    /// (`rayon::spawn`, `std::thread::spawn`, `tokio::task::spawn_blocking`, a thread pool's
    /// jobs): the compiler says ``error[E0597]: `wg` does not live long enough``. Use
    /// [`guard_owned`](Self::guard_owned) on an `Arc<WaitGroup>` or
    /// [`guard_static`](Self::guard_static) on a `static` group there; `guard` is for scoped
    /// threads (`std::thread::scope`, `rayon::scope`) and code on the same thread.
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
    ///
    /// A `'static` job cannot hold it:
    ///
    /// ```compile_fail,E0597
    /// use groupwait::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let guard = wg.guard();
    /// std::thread::spawn(move || drop(guard)); // error[E0597]: `wg` does not live long enough
    /// wg.wait();
    /// ```
    ///
    /// An owned guard can:
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// let guard = wg.guard_owned();
    /// std::thread::spawn(move || drop(guard));
    /// wg.wait();
    /// ```
    #[track_caller]
    pub fn guard(&self) -> Guard<'_> {
        self.add(1);
        Guard::adopt(self)
    }

    /// Adds one to the counter and returns an [`OwnedGuard`] holding a clone of the `Arc`:
    /// a guard for `'static` jobs. `wg.guard()` borrows the group, which such jobs cannot.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add)`(1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// let guard = wg.guard_owned();
    /// let job = std::thread::spawn(move || drop(guard)); // a `'static` job
    /// wg.wait();
    /// job.join().unwrap();
    /// ```
    #[track_caller]
    pub fn guard_owned(self: &Arc<Self>) -> OwnedGuard {
        self.add(1);
        OwnedGuard {
            wg: Owner::Shared(Arc::clone(self)),
        }
    }

    /// Adds one to the counter and returns an [`OwnedGuard`] of a `static` group.
    /// (`guard()` on a `static` already gives a `Guard<'static>`; this gives the same type as
    /// [`guard_owned`](Self::guard_owned), for APIs that take either.)
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
    /// static JOBS: WaitGroup = WaitGroup::new();
    /// let guard = JOBS.guard_static();
    /// std::thread::spawn(move || drop(guard));
    /// JOBS.wait();
    /// ```
    #[track_caller]
    pub fn guard_static(&'static self) -> OwnedGuard {
        self.add(1);
        OwnedGuard {
            wg: Owner::Static(self),
        }
    }
}

/// One unit of a group's counter held through an `Arc` of the group: an [`OwnedGuard`] made by
/// `guard_owned`, in 8 bytes instead of 16 (no `Static` case). `track_owned`'s future holds
/// one, and that future's size sets the size of the task a runtime allocates for it.
pub(crate) struct ArcGuard(Arc<WaitGroup>);

impl ArcGuard {
    /// The group this guard holds a unit of.
    pub(crate) fn group(&self) -> &WaitGroup {
        &self.0
    }
}

impl WaitGroup {
    /// [`guard_owned`](Self::guard_owned) as an [`ArcGuard`].
    #[inline]
    #[track_caller]
    pub(crate) fn guard_arc(self: &Arc<Self>) -> ArcGuard {
        self.add(1);
        ArcGuard(Arc::clone(self))
    }
}

impl Drop for ArcGuard {
    #[inline]
    fn drop(&mut self) {
        // The `Arc` is dropped after this `done`: the group outlives it.
        give_back(&self.0);
    }
}

impl Drop for OwnedGuard {
    fn drop(&mut self) {
        // The `Arc` (if any) is dropped after this `done`: the group outlives it.
        give_back(self.group());
    }
}

impl fmt::Debug for OwnedGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedGuard")
            .field("group", self.group())
            .finish()
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        give_back(self.wg);
    }
}

/// The `done` of a guard's drop: also during a panic, which it records for the waiter.
#[inline]
fn give_back(wg: &WaitGroup) {
    if std::thread::panicking() {
        give_back_panicking(wg)
    } else {
        wg.done();
    }
}

/// `give_back` while the thread is panicking: out of line, off the common path.
#[cold]
#[inline(never)]
fn give_back_panicking(wg: &WaitGroup) {
    wg.record_panic(Box::new(GUARD_PANIC), TaskKind::Guard);
    // A second panic here would abort the process; a misuse elsewhere that makes this `done`
    // fail is left for the waiter's checks to report. (A waker that panics in the release is
    // not resumed while unwinding: `first_panic::resume_unless_unwinding`.)
    let _ = wg.try_add(-1);
}

/// One unit of a [`WaitGroup`]'s counter that owns its reference to the group: a [`Guard`]
/// that is `'static`, for jobs that must be (`rayon::spawn`, `tokio::task::spawn_blocking`,
/// `std::thread::spawn`, thread pools).
///
/// Made by [`WaitGroup::guard_owned`] (the guard holds a clone of the `Arc`) or
/// [`WaitGroup::guard_static`] (for a `static` group). It behaves exactly as a `Guard`:
/// `done` on drop, also when the job panics, and then the group's waiters are told that a
/// guarded task panicked (see [`Guard`]).
///
/// # Examples
///
/// ```
/// use groupwait::WaitGroup;
/// use std::sync::Arc;
///
/// let wg = Arc::new(WaitGroup::new());
/// for _ in 0..4 {
///     let guard = wg.guard_owned(); // counted now, in the submitting thread
///     std::thread::spawn(move || {
///         let _guard = guard; // `done` when the job ends, even by a panic
///         // ... the job ...
///     });
/// }
/// wg.wait();
/// ```
///
/// # Panics
///
/// As a [`Guard`]'s drop: only if the counter is already zero (a `done` too many elsewhere).
#[must_use = "dropping the guard at once calls `done` at once"]
pub struct OwnedGuard {
    wg: Owner,
}

/// How an [`OwnedGuard`] holds its group.
enum Owner {
    Shared(Arc<WaitGroup>),
    Static(&'static WaitGroup),
}

impl OwnedGuard {
    /// The group this guard holds a unit of.
    #[must_use]
    pub fn group(&self) -> &WaitGroup {
        match &self.wg {
            Owner::Shared(wg) => wg,
            Owner::Static(wg) => wg,
        }
    }
}

impl fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("group", self.wg).finish()
    }
}
