//! The one door through which the crate reaches atomics, locks and spin hints.
//!
//! Every atomic and every lock used by the state machine is imported from here, so that a model
//! checker can swap the whole set at once: under `--cfg groupwait_loom` (a crate-specific cfg,
//! so loom-aware dependencies are not switched with us) they come from loom, which then
//! explores every interleaving of the models in `tests/loom.rs`.

#[cfg(not(groupwait_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};

#[cfg(groupwait_loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};

/// Locks `mutex`, ignoring poisoning: no code of ours panics while holding one of these locks,
/// and the data they guard (counters, wakers, a payload list) stays consistent at every step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One round of a spin-wait. Under loom, a yield to the model's scheduler.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(groupwait_loom))]
    std::hint::spin_loop();
    #[cfg(groupwait_loom)]
    loom::thread::yield_now();
}

/// Gives up the processor for a moment (a spin-wait that has gone on for a while). Under loom,
/// a yield to the model's scheduler.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(groupwait_loom))]
    std::thread::yield_now();
    #[cfg(groupwait_loom)]
    loom::thread::yield_now();
}

/// Defines a `static` that std builds as a constant and loom builds lazily (loom's locks are
/// created inside each model execution).
macro_rules! static_sync {
    ($(#[$attr:meta])* static $name:ident: $ty:ty = $init:expr;) => {
        #[cfg(not(groupwait_loom))]
        $(#[$attr])*
        static $name: $ty = $init;
        #[cfg(groupwait_loom)]
        loom::lazy_static! {
            $(#[$attr])*
            static ref $name: $ty = $init;
        }
    };
}
pub(crate) use static_sync;

#[cfg(groupwait_loom)]
pub(crate) use loom::thread::Builder as ThreadBuilder;
/// Threads the crate starts itself (the task pool's): loom's under the model checker.
#[cfg(not(groupwait_loom))]
pub(crate) use std::thread::Builder as ThreadBuilder;

/// Waits on `cond` for at most `timeout`; returns the guard and whether the wait timed out
/// (spurious wake-ups return `false`; callers re-check their condition either way). Loom has
/// no clock (its `wait_timeout` never times out): there the wait is a release, a yield to the
/// model's scheduler and a re-lock, reported as timed out, so a model explores both what a
/// waker does before the time-out and a time-out with nobody waking.
pub(crate) fn wait_timeout<'a, T>(
    cond: &Condvar,
    mutex: &'a Mutex<T>,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> (MutexGuard<'a, T>, bool) {
    #[cfg(not(groupwait_loom))]
    {
        let _ = mutex;
        let (guard, result) = cond
            .wait_timeout(guard, timeout)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (guard, result.timed_out())
    }
    #[cfg(groupwait_loom)]
    {
        let _ = (cond, timeout);
        drop(guard);
        loom::thread::yield_now();
        (lock(mutex), true)
    }
}
