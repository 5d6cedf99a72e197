//! Panic reports of a group's rounds: how many of its tasks panicked, of which kind, and the
//! first payload, until a waiter takes it.
//!
//! Like the sleepers, reports live outside the group, in a global list, so the group stays
//! 16 bytes. They are keyed by an id the group takes the first time one of its tasks panics
//! (not by address: a group may be moved, or swapped with another, while a payload waits).
//! The list is touched only when a task panicked; its lock also orders every change of the
//! state word's `PANICKED` bit and of the group's id, so the bit, the id and the list agree.

use crate::outcome::TaskKind;
use crate::sync::{lock, Mutex, MutexGuard};
use std::any::Any;
use std::sync::Arc;

/// What `std::panic::catch_unwind` returns for a panic.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// What every waiter of a round learns when tasks of the round panicked.
pub(crate) struct Report {
    /// The first panic's payload, until one waiter takes it.
    pub(crate) payload: Option<Payload>,
    /// The first panic's message (if its payload is a string), shared by every waiter.
    pub(crate) message: Option<Arc<str>>,
    /// How many tasks panicked since the report was made.
    pub(crate) count: usize,
    /// What kind of task the first panicking one was.
    pub(crate) kind: TaskKind,
}

struct SlotList {
    /// The next id to hand out; 0 means "no id yet" in a group.
    next_id: u64,
    entries: Vec<(u64, Report)>,
}

crate::sync::static_sync! {
    static SLOTS: Mutex<SlotList> = Mutex::new(SlotList {
        next_id: 1,
        entries: Vec::new(),
    });
}

/// Exclusive access to the payload list. Hold it while reading or changing `PANICKED` or a
/// group's panic id.
pub(crate) struct Slots(MutexGuard<'static, SlotList>);

impl Slots {
    pub(crate) fn lock() -> Self {
        Slots(lock(&SLOTS))
    }

    /// A fresh id for a group.
    pub(crate) fn new_id(&mut self) -> u64 {
        let id = self.0.next_id;
        self.0.next_id += 1;
        id
    }

    /// Stores `report` under `id` (which holds none).
    pub(crate) fn put(&mut self, id: u64, report: Report) {
        debug_assert!(self.0.entries.iter().all(|(k, _)| *k != id));
        self.0.entries.push((id, report));
    }

    /// The report stored under `id`.
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Report> {
        self.0
            .entries
            .iter_mut()
            .find(|(k, _)| *k == id)
            .map(|(_, report)| report)
    }

    /// Removes and returns the report stored under `id`. (The caller drops it after
    /// unlocking: a payload's destructor is user code.)
    pub(crate) fn take(&mut self, id: u64) -> Option<Report> {
        let index = self.0.entries.iter().position(|(k, _)| *k == id)?;
        Some(self.0.entries.swap_remove(index).1)
    }
}
