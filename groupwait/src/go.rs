//! `go` and `go_scoped`: Go 1.25's `WaitGroup.Go`, a thread counted in the group.

use crate::wait_group::WaitGroup;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{JoinHandle, Scope, ScopedJoinHandle};

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

    fn run(self, f: impl FnOnce()) {
        // The task's panic is caught and handed to the group, to be re-raised by `wait`
        // (AssertUnwindSafe: the payload crosses to the waiter, which unwinds in turn, as
        // `std::thread::scope` does). The panic hook has already reported it on this thread.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
            self.wg.record_panic(payload);
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
    /// (one waiter receives it). Go 1.26 instead crashes the program. Since the panic is
    /// caught inside the thread to be handed to the group, the returned `JoinHandle` joins
    /// `Ok(())` either way.
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
        std::thread::spawn(move || task.run(f))
    }

    /// Runs `f` on a new thread of `scope`, counted in the group: the form of
    /// [`go`](Self::go) that may borrow local variables.
    ///
    /// Panics in `f` are carried to [`wait`](Self::wait) as with `go`; they are caught, so the
    /// scope itself does not panic for them.
    ///
    /// # Panics
    ///
    /// As [`go`](Self::go).
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
        scope.spawn(move || task.run(f))
    }
}
