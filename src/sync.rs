//! The one door through which the crate reaches atomics and locks.
//!
//! Every atomic and every lock used by the state machine is imported from here, so that a model
//! checker can swap the whole set at once (under `cfg(groupwait_loom)`, a crate-specific cfg, so
//! loom-aware dependencies are not switched with us).

pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: no code of ours panics while holding one of these locks,
/// and the data they guard (counters and a payload list) stays consistent at every step.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
