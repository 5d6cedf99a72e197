//! `go` and `go_scoped`: Go 1.25's `WaitGroup.Go`, a thread counted in the group.

use crate::outcome::TaskKind;
use crate::wait_group::WaitGroup;
use std::ops::Deref;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{JoinHandle, Scope, ScopedJoinHandle};

/// The payload a `go_scoped` thread panics with, once the original payload has been handed to
/// the group: the scope then sees a failed thread, as with a plain `Scope::spawn`.
const SCOPED_PANIC: &str = "groupwait: a go_scoped task panicked; its payload was handed to the \
    WaitGroup's waiter (`wait` re-raises it, `wait_outcome` and the other outcome waits return \
    it)";

/// One counted task. Its `done` runs on drop: after the task ran, or when the closure is
/// dropped unrun because the thread could not be spawned.
struct Task<G: Deref<Target = WaitGroup>> {
    wg: G,
}

impl<G: Deref<Target = WaitGroup>> Task<G> {
    fn start(wg: G) -> Self {
        wg.add(1);
        Task { wg }
    }

    /// Runs `f`; returns whether it panicked. The unit is given back (`done`) on return.
    fn run(self, f: impl FnOnce(), kind: TaskKind) -> bool {
        // The task's panic is caught and handed to the group, to be re-raised by `wait`
        // (AssertUnwindSafe: the payload crosses to the waiter, which unwinds in turn, as
        // `std::thread::scope` does). The panic hook has already reported it on this thread.
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(()) => false,
            Err(payload) => {
                self.wg.record_panic(payload, kind);
                true
            }
        }
    }
}

impl<G: Deref<Target = WaitGroup>> Drop for Task<G> {
    fn drop(&mut self) {
        self.wg.done();
    }
}

impl WaitGroup {
    /// Runs `f` on a new thread counted in the group: Go 1.25's `WaitGroup.Go`, for a group in
    /// an `Arc` and a `'static` closure. Equivalent to `add(1)`, then a thread that runs `f`
    /// and calls `done`.
    ///
    /// If `f` panics, the panic is not lost: `done` is still called, and once the counter is
    /// zero, [`wait`](Self::wait) re-raises the first such panic with its original payload
    /// (one waiter receives the payload; the other waiters of the round are told too: see
    /// [`wait`](Self::wait) and [`wait_outcome`](Self::wait_outcome)). Go 1.26 instead crashes
    /// the program. Since the panic is caught inside the thread to be handed to the group, the
    /// returned `JoinHandle` joins `Ok(())` either way (a detached thread has nobody else to
    /// tell). A `static` group has [`go_static`](Self::go_static).
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add)`(1)`, and like [`std::thread::spawn`] if the OS cannot create a
    /// thread (the counter is then given back first).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// static TOTAL: AtomicU32 = AtomicU32::new(0);
    /// let wg = Arc::new(WaitGroup::new());
    /// for i in 1..=3 {
    ///     wg.go(move || {
    ///         TOTAL.fetch_add(i, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.wait();
    /// assert_eq!(TOTAL.load(Ordering::Relaxed), 6);
    /// ```
    #[track_caller]
    pub fn go<F>(self: &Arc<Self>, f: F) -> JoinHandle<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let task = Task::start(Arc::clone(self));
        std::thread::spawn(move || {
            task.run(f, TaskKind::Go);
        })
    }

    /// [`go`](Self::go) for a group in a `static`: runs `f` on a new thread counted in the
    /// group, with the same panic handling.
    ///
    /// # Panics
    ///
    /// As [`go`](Self::go).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// static BACKGROUND: WaitGroup = WaitGroup::new();
    /// for _ in 0..3 {
    ///     BACKGROUND.go_static(|| { /* flush a cache, say */ });
    /// }
    /// BACKGROUND.wait();
    /// ```
    #[track_caller]
    pub fn go_static<F>(&'static self, f: F) -> JoinHandle<()>
    where
        F: FnOnce() + Send + 'static,
    {
        let task = Task::start(self);
        std::thread::spawn(move || {
            task.run(f, TaskKind::Go);
        })
    }

    /// Runs `f` on a new thread of `scope`, counted in the group: the form of
    /// [`go`](Self::go) that may borrow local variables.
    ///
    /// Panics in `f` are carried to [`wait`](Self::wait) as with `go`. The thread itself then
    /// fails too (after its `done`), with a short message saying where the payload went, as
    /// a [`track`](Self::track)ed task does: so a scope whose code forgets to `wait` still
    /// panics at its end (`a scoped thread panicked`), as it would for a plain
    /// `Scope::spawn`, instead of returning as if all went well. Joining the returned handle
    /// (its `Err` holds the short message) marks that failure as handled for the scope.
    ///
    /// # Panics
    ///
    /// As [`go`](Self::go). The spawned thread panics if `f` did (see above), so the scope
    /// panics at its end unless the handle was joined or the scope's code panicked first
    /// (for instance in [`wait`](Self::wait), with the original payload).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Mutex;
    ///
    /// let wg = WaitGroup::new();
    /// let results = Mutex::new(Vec::new());
    /// std::thread::scope(|s| {
    ///     for i in 0..4 {
    ///         let results = &results;
    ///         wg.go_scoped(s, move || results.lock().unwrap().push(i * i));
    ///     }
    ///     wg.wait();
    /// });
    /// let mut results = results.into_inner().unwrap();
    /// results.sort();
    /// assert_eq!(results, [0, 1, 4, 9]);
    /// ```
    #[track_caller]
    pub fn go_scoped<'scope, 'env, F>(
        &'scope self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> ScopedJoinHandle<'scope, ()>
    where
        F: FnOnce() + Send + 'scope,
    {
        let task = Task::start(self);
        scope.spawn(move || {
            if task.run(f, TaskKind::GoScoped) {
                // After the `done` (in `run`): the waiter is not held up by this unwinding.
                resume_unwind(Box::new(SCOPED_PANIC));
            }
        })
    }
}
