//! Bounded waiting for tests: a test that waits for a condition fails with a message after a
//! deadline instead of hanging. Used by the unit tests (`crate::test_support`) and, through
//! `#[path]`, by the integration tests (`tests/support/mod.rs`), so both share one definition.

#![allow(dead_code)] // each test target uses a different part

use std::time::{Duration, Instant};

/// How long a test waits for something that a correct build does at once (a thread reaching
/// its sleep, a flag being set): long enough for a loaded CI machine, far below the runner's
/// per-test limit, so a broken build fails the named test instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Spins (yielding) until `condition()` holds; panics with `what` after [`PATIENCE`].
#[track_caller]
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting for: {what}"
        );
        std::thread::yield_now();
    }
}

/// Spins (yielding) until `observe()` returns `expected`; panics with `what` and the last value
/// seen after [`PATIENCE`].
#[track_caller]
pub fn wait_for<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: T,
    mut observe: impl FnMut() -> T,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let seen = observe();
        if seen == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {PATIENCE:?} waiting for: {what} (expected {expected:?}, last saw {seen:?})"
        );
        std::thread::yield_now();
    }
}

/// A flag that tells helper threads to stop, raised when the test's thread ends, normally or
/// by a panic (drop of the returned [`StopOnDrop`]): a helper looping on `!stop.raised()`
/// never outlives a failed test.
#[derive(Default)]
pub struct Stop(std::sync::atomic::AtomicBool);

impl Stop {
    /// Whether the test has ended.
    pub fn raised(&self) -> bool {
        // Relaxed: only a signal to stop looping; no data is published through it.
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Raises the flag when the returned value is dropped (also while unwinding).
    pub fn on_drop(&self) -> StopOnDrop<'_> {
        StopOnDrop(self)
    }
}

/// Raises its [`Stop`] when dropped.
pub struct StopOnDrop<'a>(&'a Stop);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        (self.0).0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
