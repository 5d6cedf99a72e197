//! Panic reports of a group's rounds: how many of its tasks panicked, of which kind, and the
//! first payload, until a waiter takes it.
//!
//! Like the sleepers, reports live outside the group, in a global map, so the group stays
//! 16 bytes. They are keyed by an id the group takes the first time one of its tasks panics
//! (not by address: a group may be moved, or swapped with another, while a payload waits).
//! The map is touched only when a task panicked; its lock also orders every change of the
//! state word's `PANICKED` bit and of the group's id, so the bit, the id and the map agree.
//! A hash map (issue 20, item 8): finding a group's report costs the same however many other
//! groups keep one (a list searched linearly grew with every idle group holding an old report).
//!
//! A report is shared ([`SharedReport`]): the release of a round hands a reference to each
//! async waiter it releases (kept in the waiter table until the future is polled or dropped),
//! so a released future learns its own round's outcome however late it is polled, also after
//! the next round's `add` removed the report from the map (issue 20, item 7).

use crate::outcome::TaskKind;
use crate::sync::{lock, Mutex, MutexGuard};
use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
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

impl Report {
    /// The report of a round's first panic.
    pub(crate) fn first(payload: Payload, message: Option<Arc<str>>, kind: TaskKind) -> Report {
        Report {
            payload: Some(payload),
            message,
            count: 1,
            kind,
        }
    }
}

/// A report shared by the map and the released async waiters of its rounds. Its lock is taken
/// only to read or change the report (no user code under it; a payload is dropped outside).
pub(crate) type SharedReport = Arc<Mutex<Report>>;

struct SlotList {
    /// The next id to hand out; 0 means "no id yet" in a group.
    next_id: u64,
    entries: HashMap<u64, SharedReport, IdHash>,
}

/// Hashes an id (a counter, not chosen by an adversary) by Fibonacci hashing; fixed, so the
/// model checker replays it, and `const`, so the map can be in a `static`.
#[derive(Clone, Copy, Default)]
struct IdHash;

impl BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

crate::sync::static_sync! {
    static SLOTS: Mutex<SlotList> = Mutex::new(SlotList {
        next_id: 1,
        entries: HashMap::with_hasher(IdHash),
    });
}

/// Exclusive access to the report map. Hold it while reading or changing `PANICKED` or a
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
        let old = self.0.entries.insert(id, Arc::new(Mutex::new(report)));
        debug_assert!(old.is_none());
    }

    /// Stores `report` under `id` in place of the report there, which is returned (the caller
    /// drops it after unlocking). The released waiters that hold the old one keep it.
    pub(crate) fn replace(&mut self, id: u64, report: Report) -> Option<SharedReport> {
        self.0.entries.insert(id, Arc::new(Mutex::new(report)))
    }

    /// The report stored under `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&SharedReport> {
        self.0.entries.get(&id)
    }

    /// Removes and returns the report stored under `id`. (The caller drops it after
    /// unlocking: a payload's destructor is user code.) Gives the map's storage back once it
    /// is mostly empty.
    pub(crate) fn take(&mut self, id: u64) -> Option<SharedReport> {
        let report = self.0.entries.remove(&id)?;
        let (len, capacity) = (self.0.entries.len(), self.0.entries.capacity());
        if capacity > 64 && len * 4 < capacity {
            self.0.entries.shrink_to(len * 2);
        }
        Some(report)
    }
}
