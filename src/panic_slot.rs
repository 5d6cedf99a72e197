//! Panic payloads of a group's tasks, waiting for a waiter to re-raise them.
//!
//! Like the sleepers, payloads live outside the group, in a global list keyed by the group's
//! address, so the group stays 16 bytes. The list is touched only when a task panicked; its
//! lock also orders every change of the state word's `PANICKED` bit, so the bit and the list
//! always agree.

use crate::sync::{lock, Mutex, MutexGuard};
use std::any::Any;

/// What `std::panic::catch_unwind` returns for a panic.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

crate::sync::static_sync! {
    static SLOTS: Mutex<Vec<(usize, Payload)>> = Mutex::new(Vec::new());
}

/// Exclusive access to the payload list. Hold it while reading or changing `PANICKED`.
pub(crate) struct Slots(MutexGuard<'static, Vec<(usize, Payload)>>);

impl Slots {
    pub(crate) fn lock() -> Self {
        Slots(lock(&SLOTS))
    }

    /// Stores `payload` for `key`, replacing a stale one left by a group that was moved away
    /// from this address while it had a payload.
    pub(crate) fn put(&mut self, key: usize, payload: Payload) -> Option<Payload> {
        let stale = self.take(key);
        self.0.push((key, payload));
        stale
    }

    /// Removes and returns the payload stored for `key`.
    pub(crate) fn take(&mut self, key: usize) -> Option<Payload> {
        let index = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.swap_remove(index).1)
    }
}
