//! Where sleeping waiters sleep: a fixed table of buckets keyed by the group's address.
//!
//! This is the design of Go's runtime semaphore table and of `parking_lot_core`: the group
//! itself holds no sleeping machinery, only its state word, so it stays small and the thread
//! that releases the waiters never touches the group after the releasing write (the waiters
//! may free it at once); it only touches a bucket, which lives for the whole program.
//!
//! Each bucket is a `Mutex` (holding the number of sleepers) and a `Condvar`. On Linux and
//! Windows std builds both on the OS's futex (`futex(2)`, `WaitOnAddress`) and never allocates;
//! the table is a `static`, so sleeping allocates nothing either.
//!
//! Why not a futex crate? We compared the candidates for "sleep until this word changes, with a
//! timeout, on Linux, macOS and Windows":
//! * `atomic-wait`: no timeouts.
//! * `rustix::thread::futex`: Linux only, and `wake` takes `&AtomicU32`, which would dangle in
//!   the window where a released waiter has already freed the group.
//! * `wait_on_address`: timeouts, but young, and its wake also takes a reference into the group.
//! * `parking_lot_core`: the right shape (an address-keyed table), but an `unsafe` API and a
//!   table that allocates as threads first park, i.e. on the sleep path.
//! * `event-listener`: lives in the group (freed under the waker's feet) and allocates its
//!   inner list on first use.
//!
//! std's own futex-backed `Mutex`/`Condvar` in a static table gives all we need in safe code,
//! and is exactly what a model checker can replace (loom has both).
//!
//! Async waiters wait here too: a bucket also holds the `Waker`s of pending `wait_async` futures,
//! so one release wakes threads and tasks alike. They live in a slab per bucket (slots, the first
//! few inline and the rest in a `Vec`, and a free list) with one doubly linked list of slots per
//! group, found through a small map keyed by the group's address, so registering, re-polling and
//! cancelling cost O(1) whatever the number of pending waiters of the group or of the bucket, and a
//! release unlinks its group's whole list at once and walks only its own k entries.
//!
//! Interface: [`park`] sleeps while a condition holds, re-checking it under the bucket lock;
//! [`register_waker`] / [`replace_waker`] / [`cancel_waker`] keep a task's waker (each running
//! the group's own registration or withdrawal under the bucket lock); [`release`] runs the
//! group's releasing compare-exchange under the bucket lock, then wakes every sleeper of the
//! bucket and every task of the key.
//!
//! # Released means taken out
//!
//! An async waiter never compares generations. Its registration in the group's word and the
//! insertion of its entry happen together under the bucket lock; the release's compare-exchange
//! and the unlinking of the group's list happen together under the same lock. So the entries a
//! release unlinks are exactly the async waiters its compare-exchange counted, and a waiter
//! whose entry is no longer on its group's live list has been released, however many rounds
//! later it looks. Each slot carries a shared [`Ticket`] whose sequence number is bumped when
//! the slot is freed (by the release, after taking the waker out, or by a cancellation); a
//! `Wait` remembers the number it registered under, so a released future sees the change and
//! completes without taking any lock.
//!
//! # No user code under a lock
//!
//! A waker's `clone`, `drop` and `wake` are the executor's code, which may re-enter this crate
//! (a task owned only by its wakers, holding another `Wait` on the same bucket, is dropped with
//! its last waker). They all run outside the bucket lock: a waker is cloned before the lock is
//! taken, and every waker taken out of the table (replaced, cancelled, released) is dropped or
//! woken after it is released. A `wake` that panics does not stop the release: every other
//! waker of it is still woken, then the first panic continues, unless the thread is already
//! unwinding (a guard dropped by a panic), where continuing it would abort the process.
//!
//! # Memory
//!
//! A bucket's first [`INLINE`] slots (with their tickets) and the lists of its first [`INLINE`]
//! groups are stored inline, in the static table: as long as a bucket holds no more pending tasks
//! and groups than that, registering allocates nothing, not even the first time. This matters
//! beyond the allocation itself: storage a bucket allocates is kept, and a first `wait_async` after
//! spawning many tasks would make it with the heap at its peak, above everything freed afterwards,
//! where (with glibc's allocator) it keeps the freed memory from being merged back, and every later
//! free of that memory does more work (BENCHMARKS.md, async fan-out). Past the inline part, storage
//! is reused: once a bucket's slab has grown to its peak of pending tasks, registering allocates
//! nothing (the slot vector, blocks of 64 tickets and the per-group map, each grown by doubling).
//! It is also given back: a slot freed by a release that ends the slab is dropped at once (the free
//! slots below it with each batch), a cancelled one goes to the free list, and the free slots that
//! end the slab are dropped when fewer than a quarter of the slots are in use; the vector (with
//! the ticket blocks past its end) is shrunk when its capacity is over three times its length or
//! [`KEEP_SLOTS`] (to twice), or, once empty, over twice [`KEEP_SLOTS`], a release doing this once,
//! after its last batch. After any cancellation or release a bucket therefore holds at most
//! max(4 x its pending tasks, 1 + the highest slot index still in use) slots of about 40 bytes
//! each with their ticket, in a vector of at most three times that capacity (or three times
//! [`KEEP_SLOTS`]); once all its tasks are gone, at most twice [`KEEP_SLOTS`]. The per-group map
//! shrinks when a quarter full. The bound is on the highest slot in use, not on the count: a few
//! long-lived waiters registered at a peak keep the slots below them.

mod lists;
mod slab;

use crate::first_panic::FirstPanic;
use crate::panic_slot::SharedReport;
use crate::sync::{lock, AtomicU64, Condvar, Mutex, Ordering};
use lists::Lists;
use slab::Slab;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::task::Waker;
use std::time::Instant;

/// Number of buckets. Groups whose addresses hash alike share a bucket; a wake then also wakes
/// the other group's sleeping threads, which re-check their own word and sleep again (tasks
/// are woken by key, never by bucket).
/// One under loom: a group's address differs between the model checker's executions, and the
/// bucket it picked with it, which loom cannot replay; with one bucket every model's groups
/// share it, deterministically, so shared buckets are explored by every model with two groups.
const BUCKETS: usize = if cfg!(groupwait_loom) { 1 } else { 64 };

/// How many wakers `release` takes out per lock acquisition; they are woken outside the lock.
const WAKE_BATCH: usize = 32;

/// The slab capacity below which a bucket never shrinks.
pub(crate) const KEEP_SLOTS: usize = 16;

/// "No slot": the end of a list.
const NIL: u32 = u32::MAX;

/// The list id of a free slot (live lists are numbered from 1).
const FREE: u64 = 0;

/// Slots per block of tickets (one allocation each).
const TICKETS: usize = 64;

/// Slots, and groups' lists, that a bucket holds inline (in the static table), so that its
/// first async waiters allocate nothing (see "Memory" above). Four of each: a bucket takes 448
/// bytes instead of 128, the table 28 KiB instead of 8.
// One under loom: the models have at most three waiters, and the heap part must be explored too.
const INLINE: usize = if cfg!(groupwait_loom) { 1 } else { 4 };

#[repr(align(64))] // whole cache lines each, so neighbouring buckets do not contend
struct Bucket {
    waiting: Mutex<Waiting>,
    wakeup: Condvar,
    /// The tickets of the inline slots (outside the lock: a `Wait` reads its own without it).
    inline_tickets: InlineTickets,
}

/// The tickets of a bucket's `INLINE` inline slots.
struct InlineTickets([AtomicU64; INLINE]);

/// Who waits in a bucket.
struct Waiting {
    /// How many threads sleep (or are about to) on `wakeup`.
    sleepers: usize,
    /// The async waiters' slots: on a group's list, on the free list, or unlinked from its
    /// group by a release that has not freed it yet.
    slots: Slab<Slot, INLINE>,
    /// The tickets of the slots past the inline ones, `TICKETS` slots to a block: slot `i`'s
    /// (`i >= INLINE`) is `tickets[(i - INLINE) / TICKETS].0[(i - INLINE) % TICKETS]`.
    tickets: Vec<Arc<Tickets>>,
    /// The bucket's `inline_tickets`, once a slot exists (set by the first `insert`: the table
    /// is built before any reference into it can be taken).
    inline_tickets: Option<&'static InlineTickets>,
    /// The first free slot (the free list is doubly linked too, so that trimming can take any
    /// free slot off it).
    free: u32,
    /// Slots not free.
    used: usize,
    /// The live list of each group with pending async waiters, by key.
    lists: Lists<List, AddressHash, INLINE>,
    /// The panic reports left by releases for their released async waiters, by registration
    /// (slot, ticket number), until each waiter takes its own or drops its registration: a
    /// released future learns its own round's outcome however late it is polled (issue 20,
    /// item 7). Only rounds that ended with a panic report leave any.
    late: HashMap<(u32, u64), SharedReport, AddressHash>,
    /// The id of the next list made (never reused).
    next_list: u64,
}

/// A group's list of pending async waiters.
#[derive(Clone, Copy)]
struct List {
    /// Its id, stored in each of its slots; a slot whose id is not its group's live list's was
    /// released.
    id: u64,
    head: u32,
    len: usize,
}

/// One async waiter's place.
struct Slot {
    /// The id of the list this slot is on, or `FREE`.
    list: u64,
    prev: u32,
    next: u32,
    waker: Option<Waker>,
}

/// The part of `TICKETS` slots that a `Wait` can read without the lock: per slot, a number
/// bumped (under the bucket lock) each time the slot is freed, by a release after it took the
/// waker out or by a cancellation. It never wraps (64 bits, one step per registration).
pub(crate) struct Tickets([AtomicU64; TICKETS]);

/// A registered async waiter's handle on its slot (held by its `Wait`).
pub(crate) struct Registration {
    /// The slot's index, bit-inverted (a slot index is never `NIL`): a niche, so that an
    /// `Option<Registration>` is no bigger.
    slot: std::num::NonZeroU32,
    /// The block holding this slot's ticket (shared with the table and with the other `Wait`s
    /// of the block); `None` for an inline slot, whose ticket is in the bucket of the key.
    tickets: Option<Arc<Tickets>>,
    /// The ticket's number while the slot is this waiter's.
    seq: u64,
    /// The addresses of the stored clone's data and vtable: what `Waker::will_wake` compares.
    /// The clone's, not those of the waker it was cloned from (a per-poll waker may be freed
    /// after the poll, and its address come back as another task's waker; a clone may have
    /// another data pointer than its original): see [`stores`](Self::stores).
    waker: (usize, usize),
}

impl Registration {
    /// The slot's index.
    fn index(&self) -> u32 {
        !self.slot.get()
    }

    /// This waiter's ticket.
    fn ticket(&self, key: usize) -> &AtomicU64 {
        match &self.tickets {
            None => &bucket(key).inline_tickets.0[self.index() as usize],
            Some(block) => &block.0[(self.index() as usize - INLINE) % TICKETS],
        }
    }

    /// Whether a release has taken this waiter out of the table. Lock-free.
    pub(crate) fn released(&self, key: usize) -> bool {
        // Acquire: pairs with the Release store in `Waiting::free_slot_untrimmed`, made by the
        // release under the bucket lock after its compare-exchange on the group's word (which
        // read every `done` of the round): the round's writes are visible to the released waiter.
        // (A cancellation also bumps the number, but only from the `Wait`'s own drop.)
        self.ticket(key).load(Ordering::Acquire) != self.seq
    }

    /// Whether `waker` is (`will_wake`-equal to) the one stored for this waiter. Call it only
    /// after [`released`](Self::released) returned `false`.
    ///
    /// It compares with the stored clone's identity, without the lock (`will_wake` on the
    /// stored clone itself would need the bucket lock; it reads the same two addresses and runs
    /// no user code). That identity cannot be reused by another waker while it matters: the
    /// clone lives until a release or a re-poll of this same future takes it out, and a release
    /// bumps the ticket before it drops or wakes it. For `waker` to sit at a freed clone's
    /// address, it must have been made after that free, hence after the bump, and the caller's
    /// `released` load (made while `waker` exists) would have seen the bump. Comparing with the
    /// waker of the previous poll instead (issue 20, item 1) is fooled when that waker was freed
    /// after the poll and its address handed to another task's waker.
    pub(crate) fn stores(&self, waker: &Waker) -> bool {
        identity(waker) == self.waker
    }
}

/// What `Waker::will_wake` compares: the data and vtable addresses.
fn identity(waker: &Waker) -> (usize, usize) {
    (
        waker.data().addr(),
        std::ptr::from_ref(waker.vtable()).addr(),
    )
}

/// Hashes a key (an address) by Fibonacci hashing: keys are not chosen by an adversary, and
/// a fixed hash keeps the table deterministic (the model checker replays executions).
#[derive(Clone, Copy, Default)]
struct AddressHash;

impl BuildHasher for AddressHash {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, key: usize) {
        self.0 = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// An empty bucket.
macro_rules! empty_bucket {
    () => {
        Bucket {
            waiting: Mutex::new(Waiting {
                sleepers: 0,
                slots: Slab::new([const { PLACEHOLDER_SLOT }; INLINE]),
                tickets: Vec::new(),
                inline_tickets: None,
                free: NIL,
                used: 0,
                lists: Lists::new([const { (0, PLACEHOLDER_LIST) }; INLINE], AddressHash),
                late: HashMap::with_hasher(AddressHash),
                next_list: FREE + 1,
            }),
            wakeup: Condvar::new(),
            inline_tickets: InlineTickets::new(),
        }
    };
}

impl InlineTickets {
    #[cfg(not(groupwait_loom))]
    const fn new() -> Self {
        InlineTickets([const { AtomicU64::new(0) }; INLINE])
    }

    // loom's atomics are made inside each model execution, not in a constant.
    #[cfg(groupwait_loom)]
    fn new() -> Self {
        InlineTickets(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// What an inline slot or list holds until it is first used (never read).
const PLACEHOLDER_SLOT: Slot = Slot {
    list: FREE,
    prev: NIL,
    next: NIL,
    waker: None,
};
const PLACEHOLDER_LIST: List = List {
    id: FREE,
    head: NIL,
    len: 0,
};

#[cfg(not(groupwait_loom))]
static TABLE: [Bucket; BUCKETS] = [const { empty_bucket!() }; BUCKETS];

// loom's locks are created inside each model execution, hence lazily.
#[cfg(groupwait_loom)]
loom::lazy_static! {
    static ref TABLE: [Bucket; BUCKETS] = std::array::from_fn(|_| empty_bucket!());
}

fn bucket(key: usize) -> &'static Bucket {
    if BUCKETS == 1 {
        return &TABLE[0];
    }
    // Fibonacci hashing: the multiplication spreads the address bits, the top bits pick the
    // bucket. Objects are at least 8-aligned, so the low bits carry no information.
    let hash = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(hash >> (64 - BUCKETS.trailing_zeros())) as usize]
}

/// Sleeps while `should_sleep()` is true, until [`release`] for `key` or `deadline`.
///
/// Returns `true` once `should_sleep()` was seen false, `false` if the deadline passed first
/// (never before it). `should_sleep` is evaluated under the bucket lock.
pub(crate) fn park(key: usize, should_sleep: impl Fn() -> bool, deadline: Option<Instant>) -> bool {
    let bucket = bucket(key);
    let mut waiting = lock(&bucket.waiting);
    loop {
        // The re-check under the lock prevents the lost wakeup where the release makes the
        // condition false between our last look at the state and our sleep: the release's
        // compare-exchange and its notify run under this lock, so either we see the change
        // here, or we are already waiting on the condvar when it notifies.
        if !should_sleep() {
            return true;
        }
        waiting.sleepers += 1;
        waiting = match deadline {
            None => bucket
                .wakeup
                .wait(waiting)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            // Under loom a timed wait gives up whenever it would sleep: the model checker
            // then explores that give-up at every point of the other threads' progress.
            #[cfg(groupwait_loom)]
            Some(_) => {
                waiting.sleepers -= 1;
                return false;
            }
            #[cfg(not(groupwait_loom))]
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    waiting.sleepers -= 1;
                    return false;
                }
                bucket
                    .wakeup
                    .wait_timeout(waiting, deadline - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
        waiting.sleepers -= 1;
    }
}

/// Registers a task: under the bucket lock, `count()` registers it in the group (`Ok(false)`:
/// nothing to wait for, `Err`: refused) and, if it did, a clone of `waker` is stored for
/// [`release`] to wake. Returns the registration, `Ok(None)` when nothing is to be waited for,
/// or `count`'s error.
///
/// `count` runs under the lock and must not panic. The waker is cloned before the lock is
/// taken (a clone is the executor's code) and dropped after it when unused.
pub(crate) fn register_waker<E>(
    key: usize,
    count: impl FnOnce() -> Result<bool, E>,
    waker: &Waker,
) -> Result<Option<Registration>, E> {
    let stored = waker.clone();
    // The clone's identity, not `waker`'s: see `Registration::stores`.
    let stored_identity = identity(&stored);
    let bucket = bucket(key);
    let registered = {
        let mut waiting = lock(&bucket.waiting);
        // Counted and stored in one critical section: a release (which runs its
        // compare-exchange under this lock) either came before, and then `count` sees the
        // counter at zero or a later round, or comes after, and then it finds this entry. No
        // wake-up can fall between the two.
        match count() {
            Ok(true) => Ok(Some(waiting.insert(
                key,
                stored,
                stored_identity,
                &bucket.inline_tickets,
            ))),
            Ok(false) => Ok(None),
            Err(error) => Err(error),
        }
    };
    // An unused clone (not moved into the table) is dropped here, after the lock.
    registered
}

/// Stores `waker` in place of the one registered for `registration`. Returns `false` if the
/// waiter was released meanwhile (nothing is stored then).
///
/// The new waker is cloned before the lock is taken, and the old one dropped after it.
pub(crate) fn replace_waker(key: usize, registration: &mut Registration, waker: &Waker) -> bool {
    let new = waker.clone();
    // The clone's identity, not `waker`'s: see `Registration::stores`.
    let new_identity = identity(&new);
    let old = {
        let mut waiting = lock(&bucket(key).waiting);
        // Under the lock, `live` is exact: a release that counted this waiter has unlinked it
        // (its compare-exchange and the unlinking share one critical section), and the lock
        // orders that release before this read, so the released waiter sees its round.
        if !waiting.live(key, registration) {
            None
        } else {
            let slot = &mut waiting.slots[registration.index() as usize];
            Some(slot.waker.replace(new))
        }
    };
    // Outside the lock: the replaced waker (its drop), or the unused new one.
    match old {
        Some(old) => {
            drop(old);
            registration.waker = new_identity;
            true
        }
        None => false,
    }
}

/// Takes back `registration` (a dropped pending `Wait`), unless a release took it first. If the
/// entry is still live, it is removed and `withdraw()` takes the waiter's count out of the
/// group, both under the bucket lock (so no release can count the waiter in between). The
/// stored waker is dropped after the lock is released.
pub(crate) fn cancel_waker(key: usize, registration: Registration, withdraw: impl FnOnce()) {
    if registration.released(key) {
        return; // the release freed the slot: nothing of this waiter is left
    }
    let removed = {
        let mut waiting = lock(&bucket(key).waiting);
        // `None`: released (not live), the release frees the slot and wakes the waker.
        let removed = waiting.remove_if_live(key, &registration);
        if removed.is_some() {
            withdraw();
        }
        removed
    };
    // Dropped outside the lock: a waker's destructor is the executor's code.
    drop(removed);
}

/// Takes the panic report that the release of `registration` (released) left for it, if its
/// round ended with one. The reference is returned after the lock is released.
pub(crate) fn take_late_report(key: usize, registration: &Registration) -> Option<SharedReport> {
    lock(&bucket(key).waiting).take_late(registration)
}

/// Releases the waiters of `key`: under the bucket lock, `release()` makes the waiters'
/// condition false (the group's releasing compare-exchange; `false`: nothing to release, and
/// nothing is woken); then every thread sleeping in the bucket is notified, and every task
/// registered for `key` is unlinked, all at once, and woken, each once, outside the lock.
///
/// Makes no wake-up system call when no thread sleeps in the bucket. Touches no other key's
/// entries. If a `wake` panics, the remaining wakers are still woken, then the first panic is
/// resumed (unless the thread is already unwinding: then it is dropped).
pub(crate) fn release(key: usize, release: impl FnOnce() -> bool) {
    release_with_report(key, || release().then_some(None));
}

/// [`release`], where `release()` returns `None` (nothing released) or `Some(report)`: the
/// round's panic report, if it had one, of which each released task gets a reference, kept in
/// the bucket until it takes it ([`take_late_report`]) or drops its registration.
pub(crate) fn release_with_report(
    key: usize,
    release: impl FnOnce() -> Option<Option<SharedReport>>,
) {
    let bucket = bucket(key);
    let mut batch: [Option<Waker>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
    let mut next;
    let report = {
        let mut waiting = lock(&bucket.waiting);
        let Some(report) = release() else {
            return;
        };
        if waiting.sleepers > 0 {
            bucket.wakeup.notify_all();
            #[cfg(test)]
            lock(&NOTIFIED).push(key);
        }
        // From here the group's entries are off its live list: each of its waiters counts as
        // released, and only this call frees their slots.
        next = waiting.unlink_list(key);
        waiting.take_batch(&mut next, &mut batch, report.as_ref());
        report
    };
    let mut panic = FirstPanic::new();
    wake(&mut batch, &mut panic);
    while next != NIL {
        lock(&bucket.waiting).take_batch(&mut next, &mut batch, report.as_ref());
        wake(&mut batch, &mut panic);
    }
    // Our reference, dropped outside the lock (the report holds a payload: user code).
    drop(report);
    // Not while unwinding (a guard dropped by a panic): that would abort (issue 20, item 6).
    panic.resume();
}

/// Wakes the wakers in `batch` (taking them out), each under `catch_unwind`; the first panic
/// is kept in `panic` (later ones are dropped: their panics already ran the panic hook).
fn wake(batch: &mut [Option<Waker>; WAKE_BATCH], panic: &mut FirstPanic) {
    for waker in batch.iter_mut().filter_map(Option::take) {
        panic.run(|| waker.wake());
    }
}

impl Waiting {
    /// Links a new slot for `key` at the head of its list, holding `waker`. `inline_tickets`
    /// are the bucket's.
    fn insert(
        &mut self,
        key: usize,
        waker: Waker,
        identity: (usize, usize),
        inline_tickets: &'static InlineTickets,
    ) -> Registration {
        self.inline_tickets.get_or_insert(inline_tickets);
        let index = self.alloc_slot();
        let Waiting {
            slots,
            lists,
            next_list,
            ..
        } = self;
        let list = lists.get_or_insert_with(key, || {
            *next_list += 1;
            List {
                id: *next_list - 1,
                head: NIL,
                len: 0,
            }
        });
        let old_head = list.head;
        list.head = index;
        list.len += 1;
        let list_id = list.id;
        if old_head != NIL {
            slots[old_head as usize].prev = index;
        }
        let slot = &mut slots[index as usize];
        slot.list = list_id;
        slot.prev = NIL;
        slot.next = old_head;
        slot.waker = Some(waker);
        // Relaxed: the number changes only under this lock.
        let seq = self.ticket(index).load(Ordering::Relaxed);
        let tickets = match (index as usize).checked_sub(INLINE) {
            None => None,
            Some(i) => Some(Arc::clone(&self.tickets[i / TICKETS])),
        };
        Registration {
            slot: std::num::NonZeroU32::new(!index).expect("a slot index is never NIL"),
            seq,
            tickets,
            waker: identity,
        }
    }

    /// Whether `registration` is still on `key`'s live list (not released). Under the lock.
    fn live(&self, key: usize, registration: &Registration) -> bool {
        // Relaxed: the number changes only under this lock. While it is unchanged, the slot is
        // this waiter's (a slot is dropped or reused only after it was freed, which bumps it).
        if registration.ticket(key).load(Ordering::Relaxed) != registration.seq {
            return false;
        }
        let list = self.slots[registration.index() as usize].list;
        self.lists.get(key).is_some_and(|l| l.id == list)
    }

    /// If `registration` is live (see [`live`](Self::live)), unlinks its slot from `key`'s
    /// list, frees it, and returns its waker; `None` if it is not live.
    fn remove_if_live(&mut self, key: usize, registration: &Registration) -> Option<Option<Waker>> {
        // Relaxed: the number changes only under this lock (as in `live`).
        if registration.ticket(key).load(Ordering::Relaxed) != registration.seq {
            return None;
        }
        let index = registration.index();
        let (list_id, prev, next) = {
            let slot = &self.slots[index as usize];
            (slot.list, slot.prev, slot.next)
        };
        let list = self.lists.get_mut(key).filter(|l| l.id == list_id)?;
        if prev == NIL {
            list.head = next;
        }
        list.len -= 1;
        if list.len == 0 {
            self.unlink_list(key);
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        }
        if prev != NIL {
            self.slots[prev as usize].next = next;
        }
        let waker = self.slots[index as usize].waker.take();
        self.free_slot(index);
        self.give_back();
        Some(waker)
    }

    /// Takes `key`'s list off the map (its slots stay, now released, for the caller to free)
    /// and returns its first slot.
    fn unlink_list(&mut self, key: usize) -> u32 {
        let head = self.lists.remove(key).map_or(NIL, |l| l.head);
        let (len, capacity) = (self.lists.heap_len(), self.lists.heap_capacity());
        if capacity > 4 * KEEP_SLOTS && len * 4 < capacity {
            self.lists.shrink_heap_to(len * 2);
        }
        head
    }

    /// Frees up to `WAKE_BATCH` slots of an unlinked list from `next` on, moving their wakers
    /// into `batch`, and leaves each of their waiters a reference to `report` if there is one;
    /// advances `next`.
    fn take_batch(
        &mut self,
        next: &mut u32,
        batch: &mut [Option<Waker>; WAKE_BATCH],
        report: Option<&SharedReport>,
    ) {
        for entry in batch.iter_mut() {
            if *next == NIL {
                break;
            }
            let index = *next;
            let slot = &mut self.slots[index as usize];
            *next = slot.next;
            *entry = slot.waker.take();
            if let Some(report) = report {
                // Keyed by the registration: the slot and its ticket's number, which the free
                // below moves on (a number is never used twice for a slot).
                // Relaxed: the number changes only under this lock.
                let seq = self.ticket(index).load(Ordering::Relaxed);
                self.late.insert((index, seq), Arc::clone(report));
            }
            self.free_slot_untrimmed(index, true);
        }
        // Once per batch rather than per slot.
        self.trim();
        if *next == NIL {
            // Once, at the end of the release, rather than as the slab empties: shrinking step by
            // step on the way down would copy the vector each time.
            self.give_back();
        }
    }

    /// Takes the report left for `registration` (released) by its release, if any.
    fn take_late(&mut self, registration: &Registration) -> Option<SharedReport> {
        if self.late.is_empty() {
            return None;
        }
        let report = self.late.remove(&(registration.index(), registration.seq));
        let (len, capacity) = (self.late.len(), self.late.capacity());
        if capacity > 4 * KEEP_SLOTS && len * 4 < capacity {
            self.late.shrink_to(len * 2);
        }
        report
    }

    /// Slot `index`'s ticket (the slot exists).
    fn ticket(&self, index: u32) -> &AtomicU64 {
        match (index as usize).checked_sub(INLINE) {
            None => {
                let inline = self
                    .inline_tickets
                    .expect("set by the insert that made the slot");
                &inline.0[index as usize]
            }
            Some(i) => &self.tickets[i / TICKETS].0[i % TICKETS],
        }
    }

    /// A free slot, taken off the free list or added at the end.
    fn alloc_slot(&mut self) -> u32 {
        self.used += 1;
        if self.free != NIL {
            let index = self.free;
            self.unlink_free(index);
            return index;
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("groupwait: more than 2^32 - 1 pending wait_async futures in one bucket");
        // A new block when the slot's is not kept from an earlier peak (`give_back` keeps them
        // with the vector's capacity).
        if index as usize >= INLINE && (index as usize - INLINE) / TICKETS == self.tickets.len() {
            self.tickets.push(Arc::new(Tickets(std::array::from_fn(|_| {
                AtomicU64::new(0)
            }))));
        }
        self.slots.push(Slot {
            list: FREE,
            prev: NIL,
            next: NIL,
            waker: None,
        });
        index
    }

    /// Frees slot `index` for a cancellation (its waker already taken out): bumps its ticket and
    /// puts it on the free list, where a next registration finds it, and when fewer than a
    /// quarter of the slots are in use, drops the free slots that end the slab. The caller then
    /// gives storage back ([`give_back`](Self::give_back)).
    fn free_slot(&mut self, index: u32) {
        self.free_slot_untrimmed(index, false);
        if self.used * 4 < self.slots.len() {
            self.trim();
        }
    }

    /// Frees slot `index` (its waker already taken out): bumps its ticket, and drops the slot if
    /// it ends the slab and `drop_last` (a release: dropping costs less than the free list, and
    /// the slab is emptying), else puts it on the free list. The free slots below a dropped slot
    /// are left to the caller's [`trim`](Self::trim), before it lets the lock go (a release trims
    /// once per batch).
    fn free_slot_untrimmed(&mut self, index: u32, drop_last: bool) {
        let ticket = self.ticket(index);
        // Release: pairs with the Acquire load in `Registration::released`; for a release,
        // this store comes after the group's releasing compare-exchange (in this critical
        // section or an earlier one of the same `release` call), so a waiter that sees the
        // new number also sees the round's writes. (Relaxed load: only changed under the lock.)
        ticket.store(ticket.load(Ordering::Relaxed) + 1, Ordering::Release);
        self.used -= 1;
        debug_assert!({
            let slot = &self.slots[index as usize];
            slot.waker.is_none() && slot.list != FREE
        });
        if drop_last && index as usize + 1 == self.slots.len() {
            self.slots.pop();
            return;
        }
        let slot = &mut self.slots[index as usize];
        slot.list = FREE;
        slot.prev = NIL;
        slot.next = self.free;
        if self.free != NIL {
            self.slots[self.free as usize].prev = index;
        }
        self.free = index;
    }

    /// Takes free slot `index` off the free list.
    fn unlink_free(&mut self, index: u32) {
        let (prev, next) = {
            let slot = &self.slots[index as usize];
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.free = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        }
    }

    /// Drops the free slots that end the slab, if any (amortized O(1): each slot is dropped at
    /// most once per push).
    fn trim(&mut self) {
        let len = self.slots.len();
        let mut end = len;
        while end > 0 && self.slots[end - 1].list == FREE {
            end -= 1;
        }
        if end == len {
            return;
        }
        if len - end == len - self.used {
            // They are all the free slots, so the free list is exactly them: no unlinking (the
            // common case of the most recent waiters cancelled, or of an emptied slab).
            self.slots.truncate(end);
            self.free = NIL;
        } else {
            for last in (end..len).rev() {
                self.unlink_free(last as u32);
                self.slots.pop();
            }
        }
    }

    /// Shrinks the vector when its capacity is over three times its length (or `KEEP_SLOTS`), to
    /// twice, or, once it is empty, over twice `KEEP_SLOTS`, to `KEEP_SLOTS`; the blocks of tickets
    /// past its end go with it. After a shrink to twice the length, growing again takes as many
    /// pushes as that length, and shrinking again a third of it in pops; after a growth to twice
    /// the length, shrinking takes a third of it in pops: each reallocation is paid for by
    /// pushes or pops in proportion, so a length going back and forth costs amortized O(1).
    fn give_back(&mut self) {
        let len = self.slots.len();
        let (limit, to) = match len {
            0 => (2 * KEEP_SLOTS, KEEP_SLOTS),
            _ => (3 * len.max(KEEP_SLOTS), 2 * len.max(KEEP_SLOTS)),
        };
        if self.slots.capacity() > limit {
            self.slots.shrink_to(to);
            // Blocks of tickets past the end go too (an `Arc` of our own, not user code); a
            // stale `Wait` may still hold one and sees its number changed.
            self.tickets
                .truncate(len.saturating_sub(INLINE).div_ceil(TICKETS));
            self.tickets.shrink_to_fit();
        }
    }
}

/// The keys whose `release` made a wake-up call on a condvar: for tests that check that a
/// release with only async waiters makes none.
#[cfg(test)]
pub(crate) static NOTIFIED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Held by the unit tests that put threads to sleep or tasks in the table, or that check that a
/// release made no wake-up call: with it, no other unit test's sleeper or task shares a bucket
/// with theirs.
#[cfg(test)]
pub(crate) fn serialize_sleeping_tests() -> crate::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    lock(&SERIAL)
}

/// The number of threads counted as asleep in `key`'s bucket: for tests of that count.
#[cfg(test)]
pub(crate) fn sleepers(key: usize) -> usize {
    lock(&bucket(key).waiting).sleepers
}

/// The reports left in `key`'s bucket for released tasks: for tests that check none is kept
/// once its task polled or dropped its future.
#[cfg(test)]
pub(crate) fn late_reports(key: usize) -> usize {
    lock(&bucket(key).waiting).late.len()
}

/// The number of task wakers stored for `key`: for tests that check nothing is left behind.
#[cfg(test)]
pub(crate) fn registered_wakers(key: usize) -> usize {
    lock(&bucket(key).waiting)
        .lists
        .get(key)
        .map_or(0, |l| l.len)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_support::wait_until;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// A waker that counts its wake-ups (shared with the `wait_async` tests).
    #[derive(Default)]
    pub(crate) struct Counting(pub(crate) AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn wakes(counting: &Counting) -> usize {
        counting.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers a task for `key` with `waker` (the group's count is not involved here).
    fn pend(key: usize, waker: &Waker) -> Registration {
        register_waker(key, || Ok::<_, ()>(true), waker)
            .unwrap()
            .expect("should pend")
    }

    /// Two keys that share a bucket.
    fn keys_sharing_a_bucket(first: usize) -> (usize, usize) {
        let second = (1..)
            .map(|i| first + 8 * i)
            .find(|&k| std::ptr::eq(bucket(k), bucket(first)))
            .unwrap();
        (first, second)
    }

    /// (slots, capacity, lists) of `key`'s bucket.
    fn storage(key: usize) -> (usize, usize, usize) {
        let waiting = lock(&bucket(key).waiting);
        (
            waiting.slots.len(),
            waiting.slots.capacity(),
            waiting.lists.len(),
        )
    }

    #[test]
    fn the_per_group_map_is_given_back_after_many_groups_waited_in_one_bucket() {
        let _serial = serialize_sleeping_tests();
        let groups = if cfg!(miri) { 80 } else { 400 };
        let first = 0x9000_usize;
        let keys: Vec<usize> = (0..)
            .map(|i| first + 8 * i)
            .filter(|&k| std::ptr::eq(bucket(k), bucket(first)))
            .take(groups)
            .collect();
        let waker = Waker::from(Arc::new(Counting::default()));
        let pending: Vec<_> = keys.iter().map(|&k| pend(k, &waker)).collect();
        assert!(lock(&bucket(first).waiting).lists.capacity() >= groups);
        for &key in &keys {
            release(key, || true);
        }
        drop(pending);
        let capacity = lock(&bucket(first).waiting).lists.capacity();
        assert!(
            capacity <= 4 * KEEP_SLOTS,
            "the map of {groups} groups' lists kept {capacity} entries after they all ended"
        );
    }

    #[test]
    fn a_release_wakes_only_its_own_tasks_in_a_shared_bucket_in_batches() {
        let _serial = serialize_sleeping_tests();
        let (mine, other) = keys_sharing_a_bucket(0x1000);
        let (my_waker, other_waker) =
            (Arc::new(Counting::default()), Arc::new(Counting::default()));
        let my_waker_handle = Waker::from(Arc::clone(&my_waker));
        let other_waker_handle = Waker::from(Arc::clone(&other_waker));
        let mut registrations = Vec::new();
        // Interleaved, and more of mine than one batch holds.
        for i in 0..(2 * WAKE_BATCH + 3) {
            registrations.push(pend(mine, &my_waker_handle));
            if i % 4 == 0 {
                registrations.push(pend(other, &other_waker_handle));
            }
        }
        let others = registered_wakers(other);
        release(mine, || true);
        assert_eq!(wakes(&my_waker), 2 * WAKE_BATCH + 3);
        assert_eq!(registered_wakers(mine), 0);
        assert_eq!(wakes(&other_waker), 0);
        assert_eq!(registered_wakers(other), others);
        release(other, || true);
        assert_eq!(wakes(&other_waker), others);
        assert_eq!(registered_wakers(other), 0);
        assert!(registrations.iter().all(|r| r.released(mine)));
    }

    #[test]
    fn a_release_whose_exchange_fails_wakes_nobody() {
        let _serial = serialize_sleeping_tests();
        let key = 0x1800_usize;
        let counting = Arc::new(Counting::default());
        let registration = pend(key, &Waker::from(Arc::clone(&counting)));
        release(key, || false);
        assert_eq!(wakes(&counting), 0);
        assert!(!registration.released(key));
        cancel_waker(key, registration, || {});
        assert_eq!(registered_wakers(key), 0);
        assert_eq!(Arc::strong_count(&counting), 1);
    }

    #[test]
    fn a_re_registration_replaces_the_waker_and_keeps_the_slot() {
        let _serial = serialize_sleeping_tests();
        let key = 0x2000_usize;
        let first = Arc::new(Counting::default());
        let second = Arc::new(Counting::default());
        let first_waker = Waker::from(Arc::clone(&first));
        let second_waker = Waker::from(Arc::clone(&second));
        let mut registration = pend(key, &first_waker);
        // The stored clone is recognised as the waker itself where a clone keeps its vtable's
        // address (as `Waker::will_wake` would say); Miri gives each use of a vtable an
        // address of its own, so there only the negative is certain.
        let clones_keep_identity = first_waker.will_wake(&first_waker.clone());
        assert_eq!(registration.stores(&first_waker), clones_keep_identity);
        assert!(!registration.stores(&second_waker));
        let slot = registration.index();
        assert!(replace_waker(key, &mut registration, &second_waker));
        assert_eq!(registration.index(), slot);
        assert_eq!(registration.stores(&second_waker), clones_keep_identity);
        assert_eq!(registered_wakers(key), 1);
        drop(first_waker);
        assert_eq!(
            Arc::strong_count(&first),
            1,
            "the replaced waker was dropped"
        );
        release(key, || true);
        assert_eq!(wakes(&first), 0);
        assert_eq!(wakes(&second), 1);
        assert!(registration.released(key));
    }

    #[test]
    fn a_re_registration_replaces_only_its_own_entry() {
        let _serial = serialize_sleeping_tests();
        let key = 0x5000_usize;
        let (first, second, renewed) = (
            Arc::new(Counting::default()),
            Arc::new(Counting::default()),
            Arc::new(Counting::default()),
        );
        // Another task of the same group registers first...
        let _other = pend(key, &Waker::from(Arc::clone(&second)));
        let mut registration = pend(key, &Waker::from(Arc::clone(&first)));
        // ...then this one is polled again with a new waker.
        assert!(replace_waker(
            key,
            &mut registration,
            &Waker::from(Arc::clone(&renewed))
        ));
        release(key, || true);
        assert_eq!(wakes(&second), 1);
        assert_eq!(wakes(&renewed), 1);
        assert_eq!(wakes(&first), 0);
    }

    #[test]
    fn a_released_registration_is_neither_replaced_nor_cancelled() {
        let _serial = serialize_sleeping_tests();
        let key = 0x3000_usize;
        let counting = Arc::new(Counting::default());
        let waker = Waker::from(Arc::clone(&counting));
        let mut registration = pend(key, &waker);
        release(key, || true);
        assert!(registration.released(key));
        assert!(!replace_waker(key, &mut registration, &waker));
        assert_eq!(registered_wakers(key), 0);
        // A later registration may reuse the slot; the stale one still counts as released and
        // its cancellation neither withdraws nor removes anything.
        let fresh = pend(key, &waker);
        cancel_waker(key, registration, || panic!("a released waiter withdrew"));
        assert_eq!(registered_wakers(key), 1);
        let mut withdrawn = false;
        cancel_waker(key, fresh, || withdrawn = true);
        assert!(withdrawn);
        assert_eq!(registered_wakers(key), 0);
        drop(waker);
        assert_eq!(Arc::strong_count(&counting), 1);
    }

    #[test]
    fn cancelling_in_any_order_keeps_the_lists_consistent() {
        let _serial = serialize_sleeping_tests();
        let (mine, other) = keys_sharing_a_bucket(0x6000);
        let counting = Arc::new(Counting::default());
        let waker = Waker::from(Arc::clone(&counting));
        let mut mine_pending: Vec<_> = (0..10).map(|_| pend(mine, &waker)).collect();
        let others: Vec<_> = (0..5).map(|_| pend(other, &waker)).collect();
        // Head, tail and middle of the list.
        for index in [9, 0, 4, 2] {
            cancel_waker(mine, mine_pending.remove(index), || {});
        }
        assert_eq!(registered_wakers(mine), 6);
        release(mine, || true);
        assert_eq!(wakes(&counting), 6);
        assert!(mine_pending.iter().all(|r| r.released(mine)));
        assert!(!others.iter().any(|r| r.released(other)));
        for registration in others {
            cancel_waker(other, registration, || {});
        }
        assert_eq!(registered_wakers(other), 0);
        drop(waker);
        assert_eq!(Arc::strong_count(&counting), 1);
    }

    #[test]
    fn storage_is_given_back_after_a_peak_and_reused_in_a_steady_state() {
        let _serial = serialize_sleeping_tests();
        // Miri is slow: smaller sizes there, the same assertions.
        let (peak_size, pending_size, churn, rounds) = if cfg!(miri) {
            (300, 100, 10, 5)
        } else {
            (10_000, 1000, 100, 100)
        };
        let key = 0x7000_usize;
        let waker = Waker::from(Arc::new(Counting::default()));
        let peak: Vec<_> = (0..peak_size).map(|_| pend(key, &waker)).collect();
        let (slots, _, _) = storage(key);
        assert!(slots >= peak_size);
        for registration in peak {
            cancel_waker(key, registration, || {});
        }
        let (slots, capacity, _) = storage(key);
        assert!(
            slots <= KEEP_SLOTS && capacity <= 2 * KEEP_SLOTS,
            "{slots} {capacity}"
        );
        // A release gives back too.
        let peak: Vec<_> = (0..peak_size).map(|_| pend(key, &waker)).collect();
        release(key, || true);
        let (slots, capacity, _) = storage(key);
        assert!(
            slots <= KEEP_SLOTS && capacity <= 2 * KEEP_SLOTS,
            "{slots} {capacity}"
        );
        drop(peak);
        // Steady state: cancel and re-register the most recent ones, many times; the slab does
        // not grow past its first peak.
        let mut pending: Vec<_> = (0..pending_size).map(|_| pend(key, &waker)).collect();
        let (first_peak, _, _) = storage(key);
        for _ in 0..rounds {
            for registration in pending.drain(pending_size - churn..) {
                cancel_waker(key, registration, || {});
            }
            pending.extend((0..churn).map(|_| pend(key, &waker)));
            assert_eq!(storage(key).0, first_peak);
        }
        release(key, || true);
    }

    #[test]
    fn the_sleeper_count_returns_to_zero_after_timeouts_and_wakes() {
        let _serial = serialize_sleeping_tests();
        let key = 0x4000_usize;
        assert_eq!(sleepers(key), 0);
        // A deadline already passed: counted, then uncounted on the early return.
        assert!(!park(key, || true, Some(Instant::now())));
        assert_eq!(sleepers(key), 0);
        // A real timed sleep that runs out.
        let soon = Instant::now() + std::time::Duration::from_millis(5);
        assert!(!park(key, || true, Some(soon)));
        assert_eq!(sleepers(key), 0);
        // A sleep ended by `release`.
        let asleep = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|s| {
            let sleeper = s.spawn(|| {
                park(
                    key,
                    || asleep.load(std::sync::atomic::Ordering::Acquire),
                    None,
                )
            });
            wait_until("the sleeper counted in its bucket", || sleepers(key) == 1);
            release(key, || {
                asleep.store(false, std::sync::atomic::Ordering::Release);
                true
            });
            assert!(sleeper.join().unwrap());
        });
        assert_eq!(sleepers(key), 0);
    }

    /// Checks every structural invariant of `key`'s bucket and every held registration.
    fn check_bucket(key: usize, live: &[(usize, Registration)], stale: &[Registration]) {
        let waiting = lock(&bucket(key).waiting);
        let len = waiting.slots.len();
        // Blocks for every slot, and none past the vector's capacity (kept from a peak until
        // the vector shrinks).
        let blocks = |slots: usize| slots.saturating_sub(INLINE).div_ceil(TICKETS);
        assert!(
            (blocks(len)..=blocks(waiting.slots.capacity())).contains(&waiting.tickets.len()),
            "{} ticket blocks for {len} slots",
            waiting.tickets.len()
        );
        // When fewer than a quarter of the slots are in use, no free slot ends the slab.
        assert!(
            waiting.used * 4 >= len || waiting.slots.last().is_none_or(|s| s.list != FREE),
            "a free slot ends a slab of {len} with {} in use",
            waiting.used
        );
        // Free list.
        let mut on_free = vec![false; len];
        let (mut prev, mut at, mut n) = (NIL, waiting.free, 0);
        while at != NIL {
            let slot = &waiting.slots[at as usize];
            assert_eq!(slot.list, FREE);
            assert!(slot.waker.is_none());
            assert_eq!(slot.prev, prev, "free list prev link of {at}");
            assert!(!on_free[at as usize], "free list cycle");
            on_free[at as usize] = true;
            n += 1;
            prev = at;
            at = slot.next;
        }
        assert_eq!(n, len - waiting.used, "free count");
        for (i, &free) in on_free.iter().enumerate() {
            assert_eq!(waiting.slots[i].list == FREE, free, "slot {i} free-ness");
        }
        // Live registrations: live, agreeing tickets, on their key's list.
        let mut per_key = std::collections::HashMap::<usize, usize>::new();
        for (k, r) in live {
            assert!(
                !r.released(*k),
                "live registration of slot {} reads released",
                r.index()
            );
            assert!(waiting.live(*k, r));
            assert!(
                std::ptr::eq(r.ticket(*k), waiting.ticket(r.index())),
                "ticket of slot {}",
                r.index()
            );
            *per_key.entry(*k).or_default() += 1;
        }
        for (k, count) in &per_key {
            let list = *waiting
                .lists
                .get(*k)
                .expect("list of a key with live waiters");
            assert_eq!(list.len, *count);
            let (mut prev, mut at, mut n) = (NIL, list.head, 0);
            while at != NIL {
                let slot = &waiting.slots[at as usize];
                assert_eq!(slot.list, list.id);
                assert_eq!(slot.prev, prev);
                assert!(slot.waker.is_some());
                n += 1;
                prev = at;
                at = slot.next;
            }
            assert_eq!(n, list.len);
        }
        assert_eq!(
            waiting.lists.len(),
            per_key.len(),
            "lists of keys without waiters"
        );
        assert_eq!(waiting.used, live.len());
        for r in stale {
            assert!(
                r.released(key),
                "stale registration of slot {} reads live",
                r.index()
            );
            assert!(!waiting.live(key, r));
        }
    }

    #[test]
    // Over six minutes per target under Miri even at 200 steps; it runs natively, on i686 and
    // under ThreadSanitizer, and Miri runs the table's other tests.
    #[cfg_attr(miri, ignore = "minutes per target under Miri")]
    fn random_registrations_cancellations_and_releases_keep_the_table_consistent() {
        let _serial = serialize_sleeping_tests();
        let first = 0xA_0000_usize;
        let keys: Vec<usize> = (0..)
            .map(|i| first + 8 * i)
            .filter(|&k| std::ptr::eq(bucket(k), bucket(first)))
            .take(7)
            .collect();
        let waker = Waker::from(Arc::new(Counting::default()));
        let mut rng = 0x1234_5678_9abc_def1_u64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let mut live: Vec<(usize, Registration)> = Vec::new();
        let mut stale: Vec<Registration> = Vec::new();
        let (steps, phase_len) = (60_000, 500);
        for step in 0..steps {
            // Phases: grow to a peak, then mostly shrink, so that slots past the inline ones and
            // whole ticket blocks come and go.
            let phase = (step / phase_len) % 4;
            let grow = match phase {
                0 => 80,
                1 => 55,
                2 => 20,
                _ => 45,
            };
            let op = next(100);
            if op < grow {
                let key = keys[next(if phase == 2 { 2 } else { keys.len() })];
                live.push((key, pend(key, &waker)));
            } else if op < grow + (100 - grow) * 3 / 4 && !live.is_empty() {
                let (key, r) = live.swap_remove(next(live.len()));
                let mut withdrawn = false;
                cancel_waker(key, r, || withdrawn = true);
                assert!(withdrawn);
            } else if op % 5 == 0 {
                let key = keys[next(keys.len())];
                release(key, || true);
                let (gone, kept): (Vec<_>, Vec<_>) = live.drain(..).partition(|(k, _)| *k == key);
                live = kept;
                stale.extend(gone.into_iter().map(|(_, r)| r));
            } else if !stale.is_empty() {
                let r = stale.swap_remove(next(stale.len()));
                cancel_waker(first, r, || panic!("a released waiter withdrew"));
            }
            if step % 7 == 0 || live.len() < 8 {
                check_bucket(first, &live, &stale);
            }
        }
        for key in keys {
            release(key, || true);
        }
    }

    #[test]
    fn stale_registrations_of_inline_and_truncated_heap_slots_stay_released_after_reuse() {
        let _serial = serialize_sleeping_tests();
        let key = 0xB_0000_usize;
        let waker = Waker::from(Arc::new(Counting::default()));
        for _ in 0..3 {
            // A peak past the inline slots and past one ticket block, released at once: the
            // slab shrinks back below the inline slots and drops its ticket blocks.
            let stale: Vec<_> = (0..(INLINE + 2 * TICKETS + 5))
                .map(|_| pend(key, &waker))
                .collect();
            assert!(stale.iter().any(|r| (r.index() as usize) < INLINE));
            assert!(stale
                .iter()
                .any(|r| (r.index() as usize) >= INLINE + TICKETS));
            release(key, || true);
            {
                let waiting = lock(&bucket(key).waiting);
                assert!(waiting.slots.len() <= KEEP_SLOTS);
                assert!(
                    waiting.tickets.len()
                        <= waiting
                            .slots
                            .capacity()
                            .saturating_sub(INLINE)
                            .div_ceil(TICKETS)
                );
            }
            // The same slot indices are registered again (in fresh blocks, or in blocks kept
            // with the vector's capacity; the same inline tickets).
            let fresh: Vec<_> = (0..(INLINE + 2 * TICKETS + 5))
                .map(|_| pend(key, &waker))
                .collect();
            assert!(stale.iter().all(|r| r.released(key)));
            assert!(!fresh.iter().any(|r| r.released(key)));
            for r in stale {
                cancel_waker(key, r, || panic!("a stale registration withdrew"));
            }
            assert_eq!(registered_wakers(key), INLINE + 2 * TICKETS + 5);
            assert!(!fresh.iter().any(|r| r.released(key)));
            // Cancelling all of them (shrinking as it goes) leaves nothing registered.
            for r in fresh {
                let mut withdrawn = false;
                cancel_waker(key, r, || withdrawn = true);
                assert!(withdrawn);
            }
            assert_eq!(registered_wakers(key), 0);
        }
    }

    #[test]
    fn buckets_spread_neighbouring_addresses() {
        let used: std::collections::HashSet<_> = (0..BUCKETS * 4)
            .map(|i| bucket(0x10_0000 + 16 * i) as *const Bucket)
            .collect();
        // Not a proof of quality, but a hash that maps neighbours to a few buckets fails it.
        assert!(used.len() >= BUCKETS / 2, "{} buckets used", used.len());
    }
}
