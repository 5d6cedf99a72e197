//! The plain `Mutex<usize>` + `Condvar` group, the textbook WaitGroup that groupwait is
//! measured against.

use std::sync::{Condvar, Mutex, PoisonError};

/// The textbook group: a counter under a mutex, and a condition variable notified, with
/// `notify_all`, every time the counter reaches zero (whether or not anyone waits).
#[derive(Default)]
pub struct CondvarGroup {
    count: Mutex<usize>,
    zero: Condvar,
}

impl CondvarGroup {
    /// A group with a zero counter.
    pub const fn new() -> Self {
        CondvarGroup {
            count: Mutex::new(0),
            zero: Condvar::new(),
        }
    }

    /// Adds `n` to the counter.
    pub fn add(&self, n: usize) {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += n;
    }

    /// Subtracts one; wakes every waiter when the counter reaches zero.
    pub fn done(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count = count.checked_sub(1).expect("negative counter");
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    /// Blocks until the counter is zero.
    pub fn wait(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count != 0 {
            count = self
                .zero
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
