//! The public `WaitGroup`: Go's Add/Done/Wait on one 64-bit state word.

use crate::error::Error;
use crate::outcome::{self, payload_message, Panicked, TaskKind};
use crate::panic_slot::{Payload, Report, SharedReport, Slots};
use crate::parking;
use crate::state::{
    counter, counter_addend, drained, generation, released, waiters, COUNTER, DRAINING, MAX_COUNT,
    PANICKED, WAITERS,
};
use crate::sync::{lock, AtomicU64, Ordering};
use std::fmt;
use std::time::{Duration, Instant};

/// How many times a waiter polls the state word before it goes to sleep. A wake-up through the
/// kernel costs microseconds; when the last task is about to finish, a short spin catches the
/// release without it. 64 rounds of `spin_loop` (about 1-2 µs on the machines we measured) gave
/// the best hand-off latency; see DESIGN.md, "Spinning", for the measurement.
const SPIN_LIMIT: u32 = if cfg!(groupwait_loom) { 1 } else { 64 };

/// Payload re-raised by `wait` when a [`Guard`](crate::Guard) was dropped by a panic.
pub(crate) const GUARD_PANIC: &str =
    "groupwait: a task holding a WaitGroup guard panicked (the panic itself was reported on its thread)";

/// Waits for a collection of tasks to finish: Go's `sync.WaitGroup`.
///
/// The group holds a counter. [`add`](Self::add) raises it by the number of tasks about to
/// start, each task calls [`done`](Self::done) when it finishes, and [`wait`](Self::wait) blocks
/// until the counter is back to zero. Up to 2^23 - 1 (8,388,607) threads and tasks may wait at
/// once (one more panics); all of them are released together. Once every waiter has returned,
/// the group can be used for a new round.
///
/// On top of Go: [`try_add`](Self::try_add) reports misuse as a value,
/// [`wait_timeout`](Self::wait_timeout) and [`wait_deadline`](Self::wait_deadline) give up in
/// time, [`count`](Self::count) shows progress, [`guard`](Self::guard) calls `done` even when
/// the task panics, and [`go`](Self::go) / [`go_scoped`](Self::go_scoped) spawn counted threads
/// whose panics are re-raised by `wait`.
///
/// The group is 16 bytes, `const`-constructible, and never allocates to wait or wake.
/// Like Go's (`noCopy`), it is neither `Clone` nor `Copy`: share it by reference or in an `Arc`.
///
/// # Examples
///
/// ```
/// use groupwait::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let wg = WaitGroup::new();
/// let hits = AtomicUsize::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         wg.add(1);
///         s.spawn(|| {
///             hits.fetch_add(1, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait();
///     assert_eq!(hits.load(Ordering::Relaxed), 4);
/// });
/// ```
///
/// # Memory ordering
///
/// Every `done` (and every `add`) happens-before the return of each `wait`, `wait_timeout` or
/// `wait_deadline` it releases, and before a `count` that reads zero: whatever a task wrote
/// before its `done` is visible to the waiter after `wait` returns, with no further
/// synchronization.
pub struct WaitGroup {
    /// Counter, waiter count, generation and panic bit; see `state.rs` for the layout.
    state: AtomicU64,
    /// The key of this group's panic payload in `panic_slot`, taken at its first task panic
    /// (0: none yet). Read and written only under the slots lock.
    panic_id: AtomicU64,
}

impl WaitGroup {
    /// Creates a group with a zero counter. `const`, so a `static WaitGroup` works.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// static STARTUP: WaitGroup = WaitGroup::new();
    /// STARTUP.add(1);
    /// STARTUP.done();
    /// STARTUP.wait();
    /// ```
    ///
    /// # Panics
    ///
    /// Never.
    #[cfg(not(groupwait_loom))]
    #[must_use]
    pub const fn new() -> Self {
        WaitGroup {
            state: AtomicU64::new(0),
            panic_id: AtomicU64::new(0),
        }
    }

    /// Creates a group with a zero counter (the model checker's build: not `const`).
    ///
    /// # Panics
    ///
    /// Never.
    #[cfg(groupwait_loom)]
    #[must_use]
    pub fn new() -> Self {
        WaitGroup {
            state: AtomicU64::new(0),
            panic_id: AtomicU64::new(0),
        }
    }

    /// Adds `delta`, which may be negative, to the counter: Go's `Add`.
    ///
    /// Call it with a positive delta before starting the tasks (and before `wait`); each task
    /// then calls [`done`](Self::done). When the counter reaches zero, every blocked waiter is
    /// released. With no waiter registered this is a single atomic read-modify-write.
    ///
    /// # Panics
    ///
    /// On the misuses that [`try_add`](Self::try_add) reports, with the same message (Go's
    /// words): `negative WaitGroup counter` if the counter would drop below zero,
    /// `WaitGroup counter overflow` if it would exceed `i32::MAX` (Go silently truncates there),
    /// and `WaitGroup misuse: Add called concurrently with Wait` if a positive delta on a zero
    /// counter races with waiters being released. As in Go, the delta is written first and
    /// checked after; unlike Go, a refused delta is taken back before the panic, so the group
    /// is left as it was. Calls on other threads at that very instant may see the refused
    /// write: a correct `add` or `done` that lands on it waits for the undo and is applied, but
    /// in rarer cases (two correct calls stacked on it) a `wait` can return early or a correct
    /// `done` be refused (DESIGN.md, "Write, then check", lists them; Go keeps the bad
    /// counter for good).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(3);
    /// wg.add(-2);
    /// assert_eq!(wg.count(), 1);
    /// wg.done();
    /// wg.wait();
    /// ```
    #[inline]
    #[track_caller]
    pub fn add(&self, delta: isize) {
        if let Err(error) = self.try_add(delta) {
            misuse(error)
        }
    }

    /// Like [`add`](Self::add), but reports misuse as an [`Error`] instead of panicking. When
    /// an error is returned, the call's write has been undone: the group is as it was (see
    /// [`add`](Self::add) for what other threads may see in the meantime).
    ///
    /// # Errors
    ///
    /// [`Error::NegativeCounter`], [`Error::CounterOverflow`] or [`Error::AddDuringWait`], as
    /// described under [`add`](Self::add).
    ///
    /// # Panics
    ///
    /// Never: misuse is returned as an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::{Error, WaitGroup};
    ///
    /// let wg = WaitGroup::new();
    /// assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter));
    /// assert!(matches!(wg.try_add(isize::MIN), Err(Error::CounterOverflow { .. })));
    /// assert_eq!(wg.count(), 0);
    /// assert_eq!(wg.try_add(2), Ok(()));
    /// ```
    #[inline]
    pub fn try_add(&self, delta: isize) -> Result<(), Error> {
        if delta == 0 {
            return Ok(());
        }
        // The counter is 32 bits, as in Go; a wider delta is refused before touching the word.
        if delta.unsigned_abs() > MAX_COUNT as usize {
            return Err(Error::CounterOverflow { delta });
        }
        let delta = delta as i64;
        // Write, then check (DESIGN.md, "Write, then check"): one read-modify-write, as in Go;
        // the value it replaced says whether that was all. If not, `add_slow` finishes a zero,
        // or undoes the write and reports the misuse.
        // Release: pairs with the Acquire loads of the waiters (`wait`, `count`, the re-checks
        // while waiting); every change of this word is a read-modify-write, so the waiter that
        // sees the counter at zero synchronizes with every `add` and `done` before it (release
        // sequence), and this task's writes are visible after `wait` returns.
        let old = self
            .state
            .fetch_add(counter_addend(delta), Ordering::Release);
        if settled_by_the_write(old, delta) {
            return Ok(());
        }
        self.add_slow(old, delta)
    }

    /// Adds `n` to the counter: [`add`](Self::add) for a count, such as `jobs.len()`, without
    /// a cast.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add); `WaitGroup counter overflow` if `n` is above `i32::MAX` or
    /// would take the counter there.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// let jobs = vec!["a", "b", "c"];
    /// let wg = WaitGroup::new();
    /// wg.add_count(jobs.len());
    /// assert_eq!(wg.count(), jobs.len());
    /// # wg.add(-3);
    /// ```
    #[inline]
    #[track_caller]
    pub fn add_count(&self, n: usize) {
        if let Err(error) = self.try_add_count(n) {
            misuse(error)
        }
    }

    /// Like [`add_count`](Self::add_count), but reports misuse as an [`Error`] instead of
    /// panicking; the group is unchanged when an error is returned.
    ///
    /// # Errors
    ///
    /// [`Error::CounterOverflow`] if `n` does not fit the 32-bit counter (its `delta` is `n`,
    /// or `isize::MAX` if `n` is even larger), and [`Error::AddDuringWait`] as for
    /// [`try_add`](Self::try_add).
    ///
    /// # Panics
    ///
    /// Never.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::{Error, WaitGroup};
    ///
    /// let wg = WaitGroup::new();
    /// assert!(matches!(wg.try_add_count(usize::MAX), Err(Error::CounterOverflow { .. })));
    /// assert_eq!(wg.try_add_count(2), Ok(()));
    /// assert_eq!(wg.count(), 2);
    /// # wg.add(-2);
    /// ```
    #[inline]
    pub fn try_add_count(&self, n: usize) -> Result<(), Error> {
        match isize::try_from(n) {
            Ok(delta) => self.try_add(delta),
            Err(_) => Err(Error::CounterOverflow { delta: isize::MAX }),
        }
    }

    /// The rest of an `add` whose write (`delta`, applied to the word `old`) was not all:
    /// someone else's refused write is not undone yet, this one is a misuse, it brought the
    /// counter to zero with waiters or a drain mark, or it starts a round after a panic.
    #[cold]
    #[inline(never)]
    fn add_slow(&self, mut old: u64, delta: i64) -> Result<(), Error> {
        let addend = counter_addend(delta);
        loop {
            let before = counter(old);
            let after = before + delta;
            if before < 0 {
                // A negative counter is only ever another call's refused write (or an
                // overflow, wrapped), about to be undone. Ours is not a misuse: take it back,
                // wait for that undo, and apply it again.
                self.undo(addend);
                self.await_non_negative();
            } else if delta < 0 {
                if after < 0 {
                    self.undo(addend);
                    return Err(Error::NegativeCounter);
                }
                if after == 0 && old & (WAITERS | DRAINING) != 0 {
                    self.settle_zero(old.wrapping_add(addend));
                }
                return Ok(());
            } else if after > MAX_COUNT {
                self.undo(addend);
                return Err(Error::CounterOverflow {
                    delta: delta as isize,
                });
            } else if before > 0 {
                return Ok(());
            } else if waiters(old) != 0 {
                // Waiters registered, yet the counter was zero: they are being released right
                // now, and this `add` would start a new round before they returned (Go's
                // check). The undo brings the counter back to zero, so it releases them if the
                // releaser, seeing our write, gave up (`settle_zero`).
                self.undo(addend);
                return Err(Error::AddDuringWait);
            } else if old & DRAINING != 0 {
                // The counter was zero with the drain mark still set: the `done` that zeroed
                // it has not cleared the mark yet, and cannot while our unit is in. Take the
                // unit back (the undo finishes the drain: `settle_zero`), then add it again.
                // Producers may add at any time; this is not a misuse. If the word also had a
                // panic report, this call may be the round's first `add`: the re-add below
                // clears the report if it lands on a positive counter.
                self.undo(addend);
            } else {
                // Counter zero, PANICKED: the first `add` of a round after a panic report.
                self.clear_delivered_report();
                return Ok(());
            }
            // Release: as in `try_add`.
            old = self.state.fetch_add(addend, Ordering::Release);
            if settled_by_the_write(old, delta) {
                // A re-add, after an undo, that lands on a positive counter: another `add`
                // stacked on our undone write (or on the transient we backed off from), kept
                // its unit and returned without looking at the report, since it saw a positive
                // counter. The round's first write to stay may then be this one, landing on
                // that unit: if the word shows a report, it may be the last round's delivered
                // one, and nobody else will clear it (review finding F2, loom w5: round 2 was
                // handed round 0's report). `clear_delivered_report` decides under the report's
                // lock and keeps a report whose payload is still there (this round's, or one
                // nobody took), so calling it on a word that merely may need it is safe; an
                // increment landing on zero with the report is the branch above, a re-add
                // landing on a clean zero has nothing to clear.
                if delta > 0 && counter(old) > 0 && old & PANICKED != 0 {
                    self.clear_delivered_report();
                }
                return Ok(());
            }
        }
    }

    /// Takes back this call's write of `addend` (refused, or to be applied again), and settles
    /// the zero if that brings the counter back to zero with waiters or a drain mark.
    fn undo(&self, addend: u64) {
        // Relaxed: the undo publishes nothing of this thread (the call failed or will write
        // again with Release); as a read-modify-write it continues the release sequences of
        // the `done`s before it, and a zero it makes is settled by `settle_zero`'s AcqRel.
        let now = self
            .state
            .fetch_sub(addend, Ordering::Relaxed)
            .wrapping_sub(addend);
        if counter(now) == 0 && now & (WAITERS | DRAINING) != 0 {
            self.settle_zero(now);
        }
    }

    /// Waits until another call's refused write, which made the counter negative, is undone
    /// (the undo is unconditional and takes a few instructions; after a while this yields).
    #[cold]
    fn await_non_negative(&self) {
        let mut spins = 0_u32;
        // Relaxed: only decides when to write again; that write reads the word afresh.
        while counter(self.state.load(Ordering::Relaxed)) < 0 {
            if spins < SPIN_LIMIT {
                spins += 1;
                crate::sync::spin_loop();
            } else {
                crate::sync::yield_now();
            }
        }
    }

    /// The first `add` of a round found the last round's panic report (PANICKED) and has
    /// already written its units. Under the report map's lock, which orders every change of
    /// PANICKED and of the report, the report is removed if its payload was handed to a waiter
    /// (its round is over), and kept for the next waiter if nobody took it. Between the write
    /// and this, the word shows the new round's counter with the old PANICKED: harmless, since
    /// a report is read only at a zero counter (under this lock), and this round's zero needs
    /// our units' `done`s; a task of the new round that panics in between replaces a delivered
    /// report (`record_panic`).
    #[cold]
    fn clear_delivered_report(&self) {
        let cleared = {
            let mut slots = Slots::lock();
            let id = self.panic_id.load(Ordering::Relaxed);
            // Relaxed: a guess for the compare-exchange; PANICKED and the report cannot change
            // while we hold the lock.
            let mut state = self.state.load(Ordering::Relaxed);
            loop {
                // A zero counter here is a concurrent misuse (a `done` before our `add`
                // returned): its waiters may be due the report, so it is kept.
                if state & PANICKED == 0
                    || counter(state) == 0
                    || slots
                        .get(id)
                        .is_none_or(|report| lock(report).payload.is_some())
                {
                    break None;
                }
                // Relaxed: the lock orders PANICKED with the report; the waiters of this round
                // read the word after its `done`s, later in the word's modification order.
                match self.state.compare_exchange_weak(
                    state,
                    state & !PANICKED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break slots.take(id),
                    Err(now) => state = now,
                }
            }
        };
        // Dropped outside the lock (its payload was taken, but keep user code out anyway).
        drop(cleared);
    }

    /// After a write that left the counter at zero with registered waiters or a drain mark
    /// (`state` is the word that write produced, or a later one): releases the waiters, or
    /// clears the drain mark, with a compare-exchange that requires the counter still zero,
    /// then wakes the drain waiters if the word that compare-exchange replaced had the mark
    /// (the release may settle a later word than `state`). If an `add` made the counter non-zero in between, that
    /// `add` saw a zero counter with waiters or a mark, so it undoes its write and, its undo
    /// being a zero again, settles it in turn (`add_slow`).
    #[cold]
    fn settle_zero(&self, mut state: u64) {
        // Taken before the release: once a compare-exchange below succeeded, only addresses
        // are used (a released waiter may already be done with the group).
        let drain_key = self.drain_key();
        if waiters(state) != 0 {
            if let Some(replaced) = self.release_waiters(state) {
                // `released()` also cleared DRAINING, if the word the compare-exchange
                // replaced had it: then wake the drain waiters. That word, not `state`, decides:
                // the release retries with the word it finds, which may be a later round's zero
                // whose drain mark `state` never had (round 1's `done`, preempted after its
                // write, its waiter timed out; round 2 marked, registered, and its `done` wrote
                // `(0, w, DRAINING)`, then found the release done and no mark to clear). The
                // thread whose compare-exchange cleared the mark is the only one that knows:
                // without this wake-up the drain sleeps forever (review finding F1, loom w4).
                // The drain waiter re-checks the mark under the drain key's bucket lock before
                // it sleeps, and this wake-up takes that lock after the compare-exchange, so it
                // either sees the mark cleared or is asleep and notified.
                if replaced & DRAINING != 0 {
                    parking::release(drain_key, || true);
                }
                return;
            }
            // Relaxed: a guess for the compare-exchange below.
            state = self.state.load(Ordering::Relaxed);
        }
        // Drain waiters only. A zero counter with waiters is settled by whoever wrote it (or a
        // stale releaser's retry, which then wakes the drain key itself, above). A successful
        // compare-exchange here replaced exactly `state`, which the loop condition shows with
        // DRAINING: so the wake-up below follows the word actually replaced, as above.
        while counter(state) == 0 && waiters(state) == 0 && state & DRAINING != 0 {
            // AcqRel: the Release half publishes the cleared mark to the drain waiters'
            // Acquire re-checks (`drained_since`); the Acquire half keeps the chain of the
            // round's `done`s in this read-modify-write, as in `release_word`.
            match self.state.compare_exchange_weak(
                state,
                drained(state),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    // A drain waiter that re-checks under the drain key's bucket lock sees the
                    // cleared mark, or is already asleep (or stored) and gets this wake-up
                    // (see `wait_drained`). Drain waiters have a key of their own, so this
                    // wakes none of the group's registered `Wait`s: only a real release takes
                    // those out.
                    parking::release(drain_key, || true);
                    return;
                }
                Err(now) => state = now,
            }
        }
    }

    /// Releases every registered waiter, once the counter is zero. `state` is the word the
    /// caller wrote (or a later one): a zero counter and waiters. Returns the word its
    /// compare-exchange replaced (which may differ from `state`: see `release_word`), or
    /// `None` if it released nobody.
    #[cold]
    fn release_waiters(&self, state: u64) -> Option<u64> {
        // The compare-exchange runs under the bucket lock, inside `parking::release`: the async
        // waiters it counts are then exactly those whose entries the release takes out (see
        // "Released means taken out" in parking.rs). Once it succeeded, the group may already
        // be freed by a released waiter: `release` uses only its address, as a key into the
        // static sleeping table.
        //
        // A round that ended with a panic report hands each released async waiter a reference
        // to it (issue 20, item 7), so that the future learns its round's outcome whenever it
        // is polled, also after the next round's `add` removed the report from the map. The
        // report is looked up under the slots lock, taken before the compare-exchange that
        // replaces a word with PANICKED and held across it: the id is read before (after the
        // compare-exchange the group may be gone), and while the lock is held neither
        // PANICKED nor the report can change, so the report is exactly the released round's.
        let mut released = None;
        let mut report = None;
        parking::release_with_report(self.key(), || {
            let mut slots = None;
            released = self.release_word(state, &mut slots);
            let replaced = released?;
            if replaced & PANICKED != 0 {
                let (slots, id) = slots.as_ref().expect("locked before replacing PANICKED");
                report = slots.get(*id).cloned();
            }
            // The slots lock is released here, still under the bucket lock.
            Some(report.clone())
        });
        // Our own reference, dropped outside every lock (it may be the last one).
        drop(report);
        released
    }

    /// The release's compare-exchange (see `release_waiters`). Returns the word it replaced,
    /// which is `state` or a later word the retries found (another round's, possibly with a
    /// drain mark `state` did not have); `None` if there was nothing left to release. Before an
    /// attempt on a word with PANICKED, takes the slots lock into `slots` with the group's
    /// panic id.
    fn release_word(&self, mut state: u64, slots: &mut Option<(Slots, u64)>) -> Option<u64> {
        loop {
            if state & PANICKED != 0 && slots.is_none() {
                // Under the lock the id is visible: the `record_panic` that set PANICKED (in
                // the word this attempt expects) stored it under the same lock, earlier.
                // Relaxed: the lock orders it.
                let locked = Slots::lock();
                *slots = Some((locked, self.panic_id.load(Ordering::Relaxed)));
            }
            // AcqRel: the Release half publishes the zero counter to the waiters' Acquire
            // re-checks (they return on seeing the new generation); the Acquire half keeps
            // the chain of every earlier `done` in this read-modify-write.
            match self.state.compare_exchange_weak(
                state,
                released(state),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(replaced) => return Some(replaced),
                Err(now) => {
                    // While the counter is zero with waiters, no waiter registers, and every
                    // `add` is refused: a deregistration (a timed-out or cancelled waiter)
                    // changes the word, and retries with fewer waiters; an `add`'s write
                    // makes the counter non-zero until its undo, which brings it back to zero
                    // and then settles it itself (`add_slow`, `undo`): stop. Once the last
                    // waiter is gone the group is idle and a new round may begin (found by the
                    // loom model `m3_timed_out_waiter_races_the_final_done`): stop, unless the
                    // word again shows a zero counter with waiters, which may be released by
                    // anyone, in whatever round.
                    if counter(now) != 0 || waiters(now) == 0 {
                        return None;
                    }
                    state = now;
                }
            }
        }
    }

    /// Decrements the counter by one: Go's `Done`, the same as `add(-1)`.
    ///
    /// # Panics
    ///
    /// With `negative WaitGroup counter` if the counter is already zero (the group is left
    /// unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| wg.done());
    ///     wg.wait();
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Blocks until the counter is zero: Go's `Wait`.
    ///
    /// Returns at once, after a single load, if the counter is already zero. Otherwise the
    /// thread spins briefly, then sleeps until the `done` that brings the counter to zero.
    ///
    /// To get a task's panic as a value instead of a panic, use
    /// [`wait_outcome`](Self::wait_outcome); to wait while other threads keep adding work,
    /// [`wait_drained`](Self::wait_drained). See the crate docs, "Which wait?".
    ///
    /// # Panics
    ///
    /// * If a task of the group started with [`go`](Self::go) or [`go_scoped`](Self::go_scoped)
    ///   or run under [`track`](Self::track) panicked, or a [`Guard`](crate::Guard) was dropped
    ///   by a panic, `wait` panics once the counter is zero, in every waiter of the round: the
    ///   first waiter re-raises the first panic's payload, the others panic with a
    ///   [`Panicked`] message saying the payload was handed to another waiter. (The round's
    ///   report stays until the next round's `add`; see [`Panicked`].)
    /// * `WaitGroup is reused before previous Wait has returned` (Go's check) if, when this
    ///   waiter is released, a new round has already started: the next round's `add` must
    ///   happen after every `wait` of the previous round returned.
    /// * `too many waiters on one WaitGroup` if 2^23 - 1 waiters (blocking and async together)
    ///   are already registered on the group: one more cannot be counted. Nothing is changed.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// wg.add(2);
    /// for _ in 0..2 {
    ///     let wg = Arc::clone(&wg);
    ///     std::thread::spawn(move || wg.done());
    /// }
    /// wg.wait();
    /// assert_eq!(wg.count(), 0);
    /// ```
    #[inline]
    pub fn wait(&self) {
        // Acquire: pairs with the Release of every `done`, so their writes are visible after
        // this return.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | PANICKED) == 0 {
            return;
        }
        if let Err(report) = self.wait_slow(None) {
            report.resume_unwind()
        }
    }

    /// Like [`wait`](Self::wait), but returns the round's outcome as a value instead of
    /// re-raising a task's panic: `Err(`[`Panicked`]`)` if tasks of the round panicked
    /// (every waiter of the round gets one; exactly one of them holds the payload).
    ///
    /// # Errors
    ///
    /// [`Panicked`] if a [`go`](Self::go), [`go_scoped`](Self::go_scoped) or
    /// [`track`](Self::track) task, or code holding a guard, panicked in this round (or in an
    /// earlier one whose payload nobody took).
    ///
    /// # Panics
    ///
    /// Only on misuse, as [`wait`](Self::wait): Go's reuse check, too many waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// for i in 0..4 {
    ///     wg.go(move || assert!(i != 2, "job {i} failed"));
    /// }
    /// match wg.wait_outcome() {
    ///     Ok(()) => unreachable!(),
    ///     Err(report) => {
    ///         assert_eq!(report.count(), 1);
    ///         assert_eq!(report.message(), Some("job 2 failed"));
    ///     }
    /// }
    /// ```
    #[must_use = "the outcome says whether a task panicked"]
    pub fn wait_outcome(&self) -> Result<(), Panicked> {
        // Acquire: as in `wait`.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | PANICKED) == 0 {
            return Ok(());
        }
        self.wait_slow(None).map(|_| ())
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`. Returns `true` if the counter
    /// reached zero, `false` if the time ran out first; never `false` before `timeout` has
    /// passed. A waiter that gives up leaves no trace in the group.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait): `too many waiters on one WaitGroup` when it would register as
    /// the 2^23-th waiter, the others when it would return `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::Duration;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// assert!(!wg.wait_timeout(Duration::from_millis(10))); // nobody calls done
    /// wg.done();
    /// assert!(wg.wait_timeout(Duration::from_millis(10)));
    /// ```
    #[must_use = "`false` means the tasks have not finished"]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_timeout_outcome(timeout)
            .unwrap_or_else(|report| report.resume_unwind())
    }

    /// Like [`wait_timeout`](Self::wait_timeout), with the outcome as a value:
    /// `Ok(true)` finished, `Ok(false)` timed out, `Err` finished with tasks that panicked.
    ///
    /// # Errors
    ///
    /// [`Panicked`], as for [`wait_outcome`](Self::wait_outcome), once the counter is zero.
    ///
    /// # Panics
    ///
    /// Only on misuse, as [`wait_outcome`](Self::wait_outcome).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::Duration;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// assert_eq!(wg.wait_timeout_outcome(Duration::from_millis(5)).ok(), Some(false));
    /// wg.done();
    /// assert_eq!(wg.wait_timeout_outcome(Duration::from_millis(5)).ok(), Some(true));
    /// ```
    #[must_use = "`Ok(false)` means the tasks have not finished"]
    pub fn wait_timeout_outcome(&self, timeout: Duration) -> Result<bool, Panicked> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline_outcome(deadline),
            None => self.wait_outcome().map(|()| true),
        }
    }

    /// Like [`wait`](Self::wait), but gives up at `deadline`. Returns `true` if the counter
    /// reached zero, `false` if the deadline came first; never `false` before `deadline`.
    /// A waiter that gives up leaves no trace in the group.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait): `too many waiters on one WaitGroup` when it would register as
    /// the 2^23-th waiter, the others when it would return `true`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::{Duration, Instant};
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(!wg.wait_deadline(deadline));
    /// assert!(Instant::now() >= deadline);
    /// ```
    #[must_use = "`false` means the tasks have not finished"]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.wait_deadline_outcome(deadline)
            .unwrap_or_else(|report| report.resume_unwind())
    }

    /// Like [`wait_deadline`](Self::wait_deadline), with the outcome as a value:
    /// `Ok(true)` finished, `Ok(false)` deadline passed, `Err` finished with tasks that
    /// panicked.
    ///
    /// # Errors
    ///
    /// [`Panicked`], as for [`wait_outcome`](Self::wait_outcome), once the counter is zero.
    ///
    /// # Panics
    ///
    /// Only on misuse, as [`wait_outcome`](Self::wait_outcome).
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::{Duration, Instant};
    ///
    /// let wg = WaitGroup::new();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(wg.wait_deadline_outcome(deadline).ok(), Some(true));
    /// ```
    #[must_use = "`Ok(false)` means the tasks have not finished"]
    pub fn wait_deadline_outcome(&self, deadline: Instant) -> Result<bool, Panicked> {
        // Acquire: as in `wait`.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | PANICKED) == 0 {
            return Ok(true);
        }
        self.wait_slow(Some(deadline))
    }

    /// Registers as a waiter, waits for the release (or the deadline), and deregisters on
    /// timeout. Returns `Ok(true)` when released, with the round's report as `Err`.
    #[cold]
    fn wait_slow(&self, deadline: Option<Instant>) -> Result<bool, Panicked> {
        loop {
            let Some(registered_gen) = self.register() else {
                match self.idle_outcome() {
                    Some(outcome) => return outcome.map(|()| true),
                    // A next round began since `register` saw the zero counter: this waiter
                    // came too late for the round that ended, and waits for the new one.
                    None => continue,
                }
            };
            if !self.sleep_until_released(registered_gen, deadline)
                && self.deregister(registered_gen)
            {
                return Ok(false);
            }
            return self.finish_released_outcome().map(|()| true);
        }
    }

    /// Registers one waiter, unless the counter is zero (then `None`: no need to wait).
    /// Returns the generation registered under; the waiter is released when it changes.
    pub(crate) fn register(&self) -> Option<u64> {
        self.try_register()
            .unwrap_or_else(|TooManyWaiters| panic!("groupwait: too many waiters on one WaitGroup"))
    }

    /// [`register`](Self::register), with the full waiter count reported instead of raised
    /// (for callers that hold a lock).
    pub(crate) fn try_register(&self) -> Result<Option<u64>, TooManyWaiters> {
        // Acquire on every load here: pairs with the Release of `done`, as in `wait`.
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if counter(state) == 0 {
                return Ok(None);
            }
            if waiters(state) == WAITERS {
                return Err(TooManyWaiters);
            }
            // Relaxed on success: registering publishes nothing; the waiter learns of its
            // release through Acquire re-checks of the generation.
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Some(generation(state))),
                Err(now) => state = now,
            }
        }
    }

    /// Takes back the registration of an async waiter that no release has counted (its entry
    /// is still on its group's live list, checked under the bucket lock, which every release's
    /// compare-exchange also holds): its count is there, whatever the generation.
    pub(crate) fn withdraw(&self) {
        // Relaxed: withdrawing publishes nothing, and the cancelled waiter reads no task's data.
        let before = self.state.fetch_sub(1, Ordering::Relaxed);
        debug_assert_ne!(
            waiters(before),
            0,
            "withdrew a waiter count that was not there"
        );
    }

    /// Whether a waiter registered under `registered_gen` is still waiting (not released).
    #[inline]
    pub(crate) fn still_registered(&self, registered_gen: u64) -> bool {
        // Acquire: pairs with the AcqRel release in `release_waiters`, and through it with
        // every `done` of the round.
        generation(self.state.load(Ordering::Acquire)) == registered_gen
    }

    /// Takes back a registration made under `registered_gen` (a timed-out or cancelled
    /// waiter). Returns `false` if the release got there first: the round is over and the
    /// waiter counts as released. Either way nothing is left behind.
    pub(crate) fn deregister(&self, registered_gen: u64) -> bool {
        // Acquire (also on the exchange's failure): a changed generation read here releases
        // the waiter, which then returns `true` and must see the round's writes; pairs with
        // the AcqRel release in `release_waiters`.
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            // A changed generation means released. A zero count with our generation can only
            // be a later round's (the generation wrapped while this waiter, against Go's
            // rules, had not returned): treat it as released too, and let the reuse check
            // report it, rather than take a count that is not ours.
            if generation(state) != registered_gen || waiters(state) == 0 {
                return false;
            }
            // Relaxed: deregistering publishes nothing, and the caller reads no task's data.
            match self.state.compare_exchange_weak(
                state,
                state - 1,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// The end of a released wait: Go's reuse check, then the round's report, if any.
    pub(crate) fn finish_released_outcome(&self) -> Result<(), Panicked> {
        // Go's check: the releaser zeroed counter and waiters; anything there now comes from
        // a next round begun before this `wait` returned. Acquire: as in `wait`.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | WAITERS) != 0 {
            reused();
        }
        // The task's PANICKED (set before its `done`) is visible here: the Acquire above read
        // a word at or after the round's last `done` (Release), which follows the `fetch_or`.
        if state & PANICKED == 0 {
            return Ok(());
        }
        let report = {
            let mut slots = Slots::lock();
            // The next round's `add` clears a report only under this lock, with the same
            // write that raises the counter: seeing a zero counter here means the report
            // read below is this round's. Relaxed: the lock orders it with that write.
            let state = self.state.load(Ordering::Relaxed);
            if state & (COUNTER | WAITERS) != 0 {
                None
            } else {
                Some(self.report_of_round(&mut slots, state))
            }
        };
        match report {
            Some(outcome) => outcome,
            None => reused(),
        }
    }

    /// The round's outcome for a waiter that found the counter at zero without registering
    /// (a fast path, or `register` found it zero). `None` if a next round has begun since:
    /// the caller then waits for that one.
    pub(crate) fn idle_outcome(&self) -> Option<Result<(), Panicked>> {
        // Relaxed: only a hint. The caller read the zero counter with Acquire, so a PANICKED
        // set before the round's last `done` is seen; the decision is taken under the lock.
        if self.state.load(Ordering::Relaxed) & PANICKED == 0 {
            return Some(Ok(()));
        }
        let mut slots = Slots::lock();
        // Acquire: this zero counter is what the caller returns on; pairs with the Release of
        // the round's `done`s (release sequence). Under the lock, so a next round's `add`
        // cannot clear the report between this load and the read below (see
        // `clear_delivered_report`).
        let state = self.state.load(Ordering::Acquire);
        if counter(state) != 0 {
            return None;
        }
        Some(self.report_of_round(&mut slots, state))
    }

    /// The report for one waiter of a round that ended with `state`, under the slots lock.
    fn report_of_round(&self, slots: &mut Slots, state: u64) -> Result<(), Panicked> {
        if state & PANICKED == 0 {
            return Ok(());
        }
        // PANICKED is set exactly while a report is stored under the id (both change only
        // under this lock). Relaxed: the lock orders the id.
        match slots.get(self.panic_id.load(Ordering::Relaxed)) {
            Some(report) => Err(Panicked::from_report(&mut lock(report))),
            None => Ok(()),
        }
    }

    /// The end of a released async wait (`Wait`, `WaitOutcome`), re-raising or handing the
    /// report to `outcome::deliver`: its own round's report, whenever it is polled (issue 20,
    /// item 7). The release that took its entry out left it a reference to the round's report
    /// if the round ended with one; no reuse check: a late poll of a released future is
    /// ordinary, and it knows its round exactly.
    pub(crate) fn finish_released_async(&self, registration: parking::Registration) {
        if let Some(report) = self.late_report(&registration) {
            let outcome = Panicked::from_report(&mut lock(&report));
            // The reference is dropped before the report is raised (outside every lock).
            drop(report);
            outcome::deliver(outcome);
        }
    }

    /// Takes the reference to its round's report that the release left for a released async
    /// waiter, if any (its drop, unpolled, lets it go). Only groups that ever had a panic look.
    pub(crate) fn late_report(&self, registration: &parking::Registration) -> Option<SharedReport> {
        // Relaxed: the id is set once, before the first PANICKED; a release that left a report
        // read it under the slots lock, then bumped this waiter's ticket (Release), which the
        // caller's `released` check read (Acquire): so a waiter with a report sees the id.
        if self.panic_id.load(Ordering::Relaxed) == 0 {
            return None;
        }
        parking::take_late_report(self.key(), registration)
    }

    /// Spins, then sleeps, until the generation differs from `registered_gen`. Returns `false`
    /// if `deadline` passed first.
    fn sleep_until_released(&self, registered_gen: u64, deadline: Option<Instant>) -> bool {
        let still_registered = || self.still_registered(registered_gen);
        for _ in 0..SPIN_LIMIT {
            if !still_registered() {
                return true;
            }
            crate::sync::spin_loop();
        }
        // `park` re-checks `still_registered` under the bucket lock before each sleep: that
        // prevents losing the wake-up of a release that lands between the spin and the sleep.
        parking::park(self.key(), still_registered, deadline)
    }

    /// The re-raising end of a wait that found the counter at zero without registering (the
    /// `Wait` future's first poll). If a next round began meanwhile, nothing is raised.
    pub(crate) fn raise_pending_panic(&self) {
        if let Some(Err(report)) = self.idle_outcome() {
            outcome::deliver(report);
        }
    }

    /// Records a task's panic in the round's report, before the task's `done` (so the waiter
    /// it releases sees the record). The first payload is kept until a waiter takes it; later
    /// ones are counted and dropped (their threads already reported them).
    pub(crate) fn record_panic(&self, payload: Payload, kind: TaskKind) {
        // Outside the lock: reading a string payload runs no user code, but takes time.
        let message = payload_message(&*payload);
        let discarded = {
            let mut slots = Slots::lock();
            // Relaxed: the slots lock orders every change of PANICKED and of the id; the
            // task's `done` (Release, after this) publishes the bit to the waiter it releases.
            let mut id = self.panic_id.load(Ordering::Relaxed);
            let existing = if self.state.load(Ordering::Relaxed) & PANICKED != 0 {
                slots.get(id).map(|report| lock(report).payload.is_some())
            } else {
                None
            };
            match existing {
                Some(true) => {
                    let report = slots.get(id).expect("checked above");
                    lock(report).count += 1;
                    Discarded::Payload(payload, message)
                }
                Some(false) => {
                    // A delivered report: its payload was taken at a zero counter, and this
                    // task's unit has been in the counter since, so it belongs to an earlier
                    // round whose first `add` has not cleared it yet (it does so under this
                    // lock, after its write: `clear_delivered_report`). This round's report
                    // replaces it; the released async waiters of its round keep the old one.
                    let old = slots.replace(id, Report::first(payload, message, kind));
                    Discarded::Report(old)
                }
                None => {
                    if id == 0 {
                        id = slots.new_id();
                        self.panic_id.store(id, Ordering::Relaxed);
                    }
                    slots.put(id, Report::first(payload, message, kind));
                    self.state.fetch_or(PANICKED, Ordering::Relaxed);
                    Discarded::Nothing
                }
            }
        };
        // Dropped outside the lock: a payload's destructor may itself panic.
        drop(discarded);
    }

    /// Blocks until the counter has been zero at some moment after this call began: waits
    /// for the work added so far, while other threads may keep adding more. The draining
    /// wait for flushes, graceful shutdowns and checkpoints.
    ///
    /// Unlike [`wait`](Self::wait), it does not count as a waiter of a round, so Go's checks
    /// do not apply to it: producers may `add` at any time, also while it waits and as it
    /// returns, and the start of a next round does not disturb it. It returns once the
    /// counter has reached zero (or was zero) after the call began, which means every unit
    /// added before the call has had its `done`; work added later may or may not be finished.
    ///
    /// It neither re-raises nor clears a task's panic: the round's report stays for
    /// [`wait`](Self::wait) or [`wait_outcome`](Self::wait_outcome).
    ///
    /// One exception: a zero during which two or more `add`s land before the `done` that made
    /// it has finished (a window of a few instructions) is skipped, and the drain returns at
    /// the next zero instead (DESIGN.md, "Draining"). It never returns early.
    ///
    /// If producers keep at least one unit in the group at every moment, the counter never
    /// reaches zero and it waits, as `wait` would; bound it with
    /// [`wait_drained_timeout`](Self::wait_drained_timeout), or let producers pause.
    ///
    /// # Panics
    ///
    /// Never.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    ///
    /// let wg = WaitGroup::new();
    /// let written = AtomicU64::new(0);
    /// let stop = AtomicBool::new(false);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| {
    ///         while !stop.load(Ordering::Relaxed) {
    ///             let _unit = wg.guard(); // a log line in flight
    ///             written.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     });
    ///     let before = written.load(Ordering::Relaxed);
    ///     wg.wait_drained(); // a flush: everything in flight before it is written
    ///     assert!(written.load(Ordering::Relaxed) >= before);
    ///     stop.store(true, Ordering::Relaxed);
    /// });
    /// ```
    pub fn wait_drained(&self) {
        self.drain_until(None);
    }

    /// Like [`wait_drained`](Self::wait_drained), but gives up after `timeout`. Returns `true`
    /// if the counter reached zero, `false` if the time ran out first (never before it).
    ///
    /// # Panics
    ///
    /// Never.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::Duration;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// assert!(!wg.wait_drained_timeout(Duration::from_millis(5)));
    /// wg.done();
    /// assert!(wg.wait_drained_timeout(Duration::from_millis(5)));
    /// ```
    #[must_use = "`false` means the work has not drained"]
    pub fn wait_drained_timeout(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.drain_until(Some(deadline)),
            None => self.drain_until(None),
        }
    }

    /// Like [`wait_drained`](Self::wait_drained), but gives up at `deadline`. Returns `true`
    /// if the counter reached zero, `false` if the deadline came first (never before it).
    ///
    /// # Panics
    ///
    /// Never.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::{Duration, Instant};
    ///
    /// let wg = WaitGroup::new();
    /// assert!(wg.wait_drained_deadline(Instant::now() + Duration::from_millis(5)));
    /// ```
    #[must_use = "`false` means the work has not drained"]
    pub fn wait_drained_deadline(&self, deadline: Instant) -> bool {
        self.drain_until(Some(deadline))
    }

    /// The draining wait: returns `true` once the counter was zero after the call began.
    fn drain_until(&self, deadline: Option<Instant>) -> bool {
        let Some(marked_gen) = self.mark_draining() else {
            return true;
        };
        for _ in 0..SPIN_LIMIT {
            if self.drained_since(marked_gen) {
                return true;
            }
            crate::sync::spin_loop();
        }
        // `park` re-checks under the drain key's bucket lock before each sleep. While that
        // check sees DRAINING set (and the generation unchanged), the next write that brings
        // the counter to zero sees the mark and settles that zero: DRAINING is cleared by a
        // compare-exchange on the zero counter, and the thread that made it (the writer, or a
        // stale releaser whose retry got there first) then wakes that bucket, since the word
        // it replaced had the mark (`settle_zero`); the wake-up takes the same lock: so it
        // cannot be lost.
        parking::park(
            self.drain_key(),
            || !self.drained_since(marked_gen),
            deadline,
        )
    }

    /// Marks the group as having a drain waiter (sets DRAINING), unless the counter is zero
    /// (then `None`: drained already). Returns the generation seen with DRAINING set.
    pub(crate) fn mark_draining(&self) -> Option<u64> {
        // Acquire: a zero counter read here ends the drain; pairs with the Release of the
        // round's `done`s, so their writes are visible to the caller.
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if counter(state) == 0 {
                return None;
            }
            if state & DRAINING != 0 {
                // Another drain waiter set it; the same zeroing write releases both.
                return Some(generation(state));
            }
            // Relaxed on success: marking publishes nothing; the drain waiter learns of the
            // zero through the Acquire loads of `drained_since`. Acquire on failure: as above.
            match self.state.compare_exchange_weak(
                state,
                state | DRAINING,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(generation(state)),
                Err(now) => state = now,
            }
        }
    }

    /// Whether the counter reached zero since DRAINING was seen set under `marked_gen`.
    ///
    /// Only the write that brings the counter to zero clears DRAINING, and only a zero
    /// counter lets the generation advance (a drained zeroing or a release), so either
    /// change means a zero since the mark: never an early return. If neither is seen (even
    /// after 128 generations wrapped it back and another drain waiter marked again), DRAINING
    /// is set, so the counter is non-zero and its next zeroing will clear it and wake us.
    pub(crate) fn drained_since(&self, marked_gen: u64) -> bool {
        // Acquire: the word read here follows the zeroing write, which follows every `done`
        // of the drained work in the word's modification order (release sequence): pairs
        // with their Release, so their writes are visible after the drain returns.
        let state = self.state.load(Ordering::Acquire);
        generation(state) != marked_gen || state & DRAINING == 0
    }

    /// A snapshot of the counter, for progress displays.
    ///
    /// Other threads may change it the moment it is read: use it to show progress, not to
    /// decide that the tasks are finished (that is what [`wait`](Self::wait) and
    /// [`wait_timeout`](Self::wait_timeout) are for). A reading of zero does synchronize like
    /// `wait`: the tasks' writes before their `done` are visible.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// wg.add(5);
    /// wg.done();
    /// assert_eq!(wg.count(), 4);
    /// ```
    ///
    /// # Panics
    ///
    /// Never.
    #[must_use]
    pub fn count(&self) -> usize {
        // Acquire: pairs with the Release of `done`, for the zero reading documented above.
        // The counter is negative only for the instant before a refused `add` is undone
        // (DESIGN.md, "Write, then check"); such a reading shows as a huge count, never zero.
        counter(self.state.load(Ordering::Acquire)) as usize
    }

    /// The key of this group in the static sleeping and panic tables: its address.
    pub(crate) fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// The key of this group's drain waiters: its address plus one, which no group has (groups
    /// are 8-aligned). A key of their own keeps a drain's wake-up from taking out the group's
    /// registered `Wait`s, which only a real release may do ("released means taken out").
    pub(crate) fn drain_key(&self) -> usize {
        self.key() + 1
    }
}

/// Whether the write of `delta` onto `old` is the whole `add` (the hot paths): a `done` that
/// leaves the counter positive, or brings it to zero with nobody to wake; an increment of a
/// positive counter that stays in range, or of a zero counter with no waiter, drain mark or
/// panic report. In these cases nobody can have seen anything but a correct counter.
#[inline]
const fn settled_by_the_write(old: u64, delta: i64) -> bool {
    let before = counter(old);
    let after = before + delta;
    // The flags first, then one compare: with two threads on one group the counter before the
    // write alternates (zero or one before an `add`, one or two before a `done`), and a branch
    // on it would be mispredicted half the time; the flags stay the same.
    if delta < 0 {
        if old & (WAITERS | DRAINING) == 0 {
            after >= 0
        } else {
            after > 0
        }
    } else {
        // `before` in `0..=i32::MAX - delta`: a negative `before` is huge as a `u64`.
        let in_range = (before as u64) <= (MAX_COUNT - delta) as u64;
        if old & (WAITERS | PANICKED | DRAINING) == 0 {
            in_range
        } else {
            in_range && before > 0
        }
    }
}

/// What `record_panic` lets go of, after the lock: user code may run in a payload's drop.
#[allow(dead_code)] // the fields are held only to be dropped
enum Discarded {
    Nothing,
    /// A later panic of the round: its payload (its thread already reported it).
    Payload(Payload, Option<std::sync::Arc<str>>),
    /// A delivered report of an earlier round, replaced.
    Report(Option<SharedReport>),
}

/// Go's reuse check failed: a next round began before this `wait` returned.
#[cold]
#[inline(never)]
fn reused() -> ! {
    panic!("groupwait: WaitGroup is reused before previous Wait has returned")
}

/// The group already counts 2^23 - 1 waiters: one more cannot register.
pub(crate) struct TooManyWaiters;

/// Panics with a misuse error, at the caller's line.
#[cold]
#[inline(never)]
#[track_caller]
fn misuse(error: Error) -> ! {
    panic!("{error}")
}

impl Default for WaitGroup {
    /// The same as [`WaitGroup::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display, ordering nothing.
        let state = self.state.load(Ordering::Relaxed);
        let mut debug = f.debug_struct("WaitGroup");
        debug
            .field("count", &counter(state))
            .field("waiters", &waiters(state))
            .field("panicked", &(state & PANICKED != 0));
        // Shown only while set (it never is on an idle group): drain waiters are waiting.
        if state & DRAINING != 0 {
            debug.field("draining", &true);
        }
        debug.finish()
    }
}

impl Drop for WaitGroup {
    fn drop(&mut self) {
        // A payload nobody waited for would otherwise stay in the global map.
        // Relaxed: `&mut self`, no other thread can touch the word any more.
        if self.state.load(Ordering::Relaxed) & PANICKED != 0 {
            let report = Slots::lock().take(self.panic_id.load(Ordering::Relaxed));
            // Dropped after the lock (the statement above released it): user code.
            drop(report);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Scenarios that need a hand on the state word: the windows in which Go's misuse checks
    //! fire are a few instructions wide, so here they are opened on purpose.

    use super::*;
    use crate::state::counter_addend;
    use crate::test_support::{wait_for, PATIENCE};

    /// Fails the test unless `wg` gets `n` registered waiters (within the test patience).
    #[track_caller]
    fn await_waiters(wg: &WaitGroup, n: u64) {
        wait_for("the registered waiters", n, || {
            waiters(wg.state.load(Ordering::Acquire))
        });
    }

    #[test]
    fn add_while_waiters_are_being_released_is_refused_and_its_undo_releases_them() {
        let wg = WaitGroup::new();
        // Counter zero, one registered waiter: the instant between the last `done` and the
        // release of the waiters. (Here nobody releases them: the word is set by hand.)
        wg.state.store(1, Ordering::Relaxed);
        assert_eq!(wg.try_add(1), Err(Error::AddDuringWait));
        // The refused add wrote, so a releaser that saw its write would have given up; its
        // undo is a zero with waiters again, and releases them itself.
        assert_eq!(wg.state.load(Ordering::Relaxed), released(1));
        assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter));
        assert_eq!(wg.state.load(Ordering::Relaxed), released(1));
        wg.state.store(0, Ordering::Relaxed);
    }

    #[test]
    fn a_done_in_the_release_window_is_refused_and_its_undo_releases_the_waiters() {
        let wg = WaitGroup::new();
        // Counter zero, one registered waiter (the instant before the release), and a `done`
        // too many: refused (the write made the counter negative), and its undo, which writes
        // the zero with waiters again, settles it as the releaser would have.
        wg.state.store(1, Ordering::Relaxed);
        assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter));
        assert_eq!(wg.state.load(Ordering::Relaxed), released(1));
        wg.state.store(0, Ordering::Relaxed);
    }

    #[test]
    fn a_producers_add_on_the_drain_marks_zero_finishes_the_drain_and_adds() {
        let wg = WaitGroup::new();
        wg.add(1);
        let marked = wg.mark_draining().unwrap();
        // The last `done`'s write, before it clears the mark: (0, DRAINING).
        let zero = wg.state.fetch_sub(counter_addend(1), Ordering::Release) - counter_addend(1);
        assert_eq!(zero & DRAINING, DRAINING);
        // A producer's `add` lands here: it takes its unit back, which settles the zero (the
        // drain is released), and adds again.
        assert_eq!(wg.try_add(1), Ok(()));
        assert!(wg.drained_since(marked));
        assert_eq!(wg.count(), 1);
        let after = wg.state.load(Ordering::Relaxed);
        // The `done` resumes: its settling compare-exchange sees a non-zero counter and stops.
        wg.settle_zero(zero);
        assert_eq!(wg.state.load(Ordering::Relaxed), after);
        wg.done();
        assert_eq!(wg.state.load(Ordering::Relaxed) & (COUNTER | DRAINING), 0);
    }

    #[test]
    fn two_adds_stacked_on_the_drain_marks_zero_skip_it_until_the_next_zero() {
        // The documented exception of `wait_drained` (DESIGN.md, "Draining"), pinned.
        let wg = WaitGroup::new();
        wg.add(1);
        let marked = wg.mark_draining().unwrap();
        let zero = wg.state.fetch_sub(counter_addend(1), Ordering::Release) - counter_addend(1);
        // A first `add`'s write lands on the zero; a second `add` lands on that one, sees a
        // positive counter, and is done.
        wg.state.fetch_add(counter_addend(1), Ordering::Release);
        assert_eq!(wg.try_add(1), Ok(()));
        // The `done` cannot settle: the counter is not zero.
        wg.settle_zero(zero);
        // The first `add` undoes (not a zero now) and adds again.
        wg.undo(counter_addend(1));
        assert_eq!(wg.try_add(1), Ok(()));
        assert_eq!(wg.count(), 2);
        // Skipped, never early: the drain waits for the next zero.
        assert!(!wg.drained_since(marked));
        wg.done();
        assert!(!wg.drained_since(marked));
        wg.done();
        assert!(wg.drained_since(marked));
        assert_eq!(wg.state.load(Ordering::Relaxed) & (COUNTER | DRAINING), 0);
    }

    #[test]
    fn a_rounds_panic_before_its_first_add_clears_the_last_report_is_kept() {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("round 1"), TaskKind::Go);
        let mut first = wg.idle_outcome().unwrap().unwrap_err();
        assert!(first.take_payload().is_some());
        // Round 2's first `add` has written its unit, and not yet cleared the delivered
        // report; a task of round 2 panics in between.
        wg.state.fetch_add(counter_addend(1), Ordering::Release);
        wg.record_panic(Box::new("round 2"), TaskKind::Go);
        // The `add` gets the lock: the report is round 2's, untaken, so it stays.
        wg.clear_delivered_report();
        wg.done();
        let mut report = wg.idle_outcome().unwrap().unwrap_err();
        assert_eq!(report.message(), Some("round 2"));
        assert_eq!(report.count(), 1);
        assert!(report.take_payload().is_some());
    }

    /// Review finding F2 through the negative-counter back-off (the drain-mark branch is loom
    /// `w5`; as a loom model this one exceeds loom's branch limit in its back-off spins).
    #[test]
    fn a_re_add_after_backing_off_a_refused_done_clears_a_delivered_report() {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("round 1"), TaskKind::Go);
        let mut first = wg.idle_outcome().unwrap().unwrap_err();
        assert!(first.take_payload().is_some());
        // A refused `done` on the idle group writes -1; round 2's first `add` lands on it.
        let minus_one = counter_addend(-1);
        wg.state.fetch_add(minus_one, Ordering::Release);
        let old = wg.state.fetch_add(counter_addend(1), Ordering::Release);
        assert_eq!(counter(old), -1);
        // The refused `done`'s undo: the counter is now the first `add`'s unit, and a second
        // `add` stacks on it and returns (a positive counter: it does not look at the report).
        wg.state.fetch_sub(minus_one, Ordering::Relaxed);
        wg.add(1);
        // The first `add` goes on: backs off, writes again onto the positive counter, and must
        // clear the delivered report itself.
        assert_eq!(wg.add_slow(old, 1), Ok(()));
        assert_eq!(wg.state.load(Ordering::Relaxed) & PANICKED, 0);
        wg.add(-2);
        assert_eq!(
            wg.idle_outcome().unwrap().ok(),
            Some(()),
            "round 2 had no panic"
        );
    }

    /// Review finding F1 (loom `w4`), by hand and without threads: a `done` of round 1,
    /// preempted between its zero's write and its release, releases round 2's zero, whose word
    /// has a drain mark its own did not; the drain must be woken by that stale `done`, since
    /// round 2's `done` then finds nothing left to do. (An async drain with a counting waker,
    /// so that a wake-up of the group's key cannot stand in for the drain key's.)
    #[test]
    fn a_stale_release_that_clears_a_later_rounds_drain_mark_wakes_the_drain() {
        struct Counting(std::sync::atomic::AtomicUsize);
        impl std::task::Wake for Counting {
            fn wake(self: std::sync::Arc<Self>) {
                // Relaxed: woken and read on this test's one thread; nothing to pair with.
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        use std::future::Future;
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        let leaving = wg.register().unwrap();
        // Round 1's `done` writes (0, 1 waiter) and stops there; its waiter gives up.
        let stale = wg.state.fetch_sub(counter_addend(1), Ordering::Release) - counter_addend(1);
        assert!(wg.deregister(leaving));
        // Round 2: a pending drain (its waker counted) and a registered waiter.
        wg.add(1);
        let woken = std::sync::Arc::new(Counting(std::sync::atomic::AtomicUsize::new(0)));
        let waker = std::task::Waker::from(std::sync::Arc::clone(&woken));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut drained = std::pin::pin!(wg.wait_drained_async());
        assert!(drained.as_mut().poll(&mut cx).is_pending());
        let round_2 = wg.register().unwrap();
        // Round 2's `done` writes (0, 1 waiter, DRAINING)...
        let zero = wg.state.fetch_sub(counter_addend(1), Ordering::Release) - counter_addend(1);
        assert_ne!(zero & DRAINING, 0);
        // ...and round 1's `done` resumes first: its release retries with that word.
        wg.settle_zero(stale);
        assert!(!wg.still_registered(round_2));
        assert_eq!(
            woken.0.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "the drain was not woken"
        );
        // Round 2's `done` goes on and finds the release done.
        wg.settle_zero(zero);
        assert!(drained.as_mut().poll(&mut cx).is_ready());
        assert_eq!(wg.finish_released_outcome().ok(), Some(()));
    }

    #[test]
    fn waiter_released_into_a_new_round_panics_with_gos_reuse_message() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        std::thread::scope(|s| {
            // Bounded: a waiter never woken returns `false` instead of panicking.
            let waiter = s.spawn(|| wg.wait_timeout(PATIENCE));
            await_waiters(&wg, 1);
            // The release of the round, and at once a next round's `add`, before the
            // released waiter looked at the word.
            let state = wg.state.load(Ordering::Acquire);
            let next_round = released(state - counter_addend(1)).wrapping_add(counter_addend(1));
            parking::release(wg.key(), || {
                wg.state.store(next_round, Ordering::Release);
                true
            });
            let payload = waiter.join().unwrap_err();
            let text = payload.downcast_ref::<&str>().copied().unwrap_or_default();
            assert!(
                text.contains("WaitGroup is reused before previous Wait has returned"),
                "{text}"
            );
        });
        wg.state.store(0, Ordering::Relaxed);
    }

    #[test]
    fn the_release_retries_when_a_waiter_deregisters_under_it() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        std::thread::scope(|s| {
            // (A broken retry leaves this one asleep: it then times out and the test fails.)
            let stays = s.spawn(|| wg.wait_timeout(PATIENCE));
            // The waiter that leaves is this thread, registered by hand, so that it cannot
            // time out before the other one has registered.
            let leaving = wg.register().unwrap();
            await_waiters(&wg, 2);
            // The last `done` saw two waiters; one of them gives up before the release.
            let seen = wg.state.load(Ordering::Acquire);
            wg.state.fetch_sub(counter_addend(1), Ordering::Release);
            assert!(wg.deregister(leaving));
            wg.release_waiters(seen - counter_addend(1));
            assert!(stays.join().unwrap());
        });
        assert_eq!(wg.state.load(Ordering::Relaxed) & (COUNTER | WAITERS), 0);
    }

    #[test]
    fn stale_release_after_every_waiter_left_leaves_the_next_round_alone() {
        // Regression test for the loom model `m3_timed_out_waiter_races_the_final_done`.
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        // A waiter of round 1 (this thread, by hand: it leaves exactly when told).
        let leaving = wg.register().unwrap();
        // The last `done`'s compare-exchange: counter 0, one waiter to release...
        let stale = wg.state.fetch_sub(counter_addend(1), Ordering::Release) - counter_addend(1);
        // ...but before the release, the waiter gives up and leaves: the group is idle.
        assert!(wg.deregister(leaving));
        std::thread::scope(|s| {
            // Round 2 begins legally, with a waiter of its own.
            wg.add(1);
            let stays = s.spawn(|| wg.wait_timeout(PATIENCE));
            await_waiters(&wg, 1);
            // The stale releaser resumes: it must not release round 2.
            wg.release_waiters(stale);
            assert_eq!(counter(wg.state.load(Ordering::Acquire)), 1);
            assert_eq!(waiters(wg.state.load(Ordering::Acquire)), 1);
            wg.done();
            assert!(stays.join().unwrap());
        });
        assert_eq!(wg.state.load(Ordering::Relaxed) & (COUNTER | WAITERS), 0);
    }

    #[test]
    fn a_waiter_that_comes_second_to_a_panic_gets_the_report_without_the_payload() {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("taken once"), TaskKind::Go);
        let mut first = wg.idle_outcome().unwrap().unwrap_err();
        assert!(first.take_payload().is_some());
        // The second waiter of the round: the same report, the payload handed elsewhere.
        let second = wg.idle_outcome().unwrap().unwrap_err();
        assert!(second.handed_elsewhere());
        assert_eq!(second.message(), Some("taken once"));
        // The next round's `add` clears the delivered report.
        wg.add(1);
        assert_eq!(wg.state.load(Ordering::Relaxed) & PANICKED, 0);
        wg.done();
        wg.raise_pending_panic(); // nothing pending: returns
    }

    #[test]
    fn an_untaken_payload_survives_the_next_rounds_add() {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("kept"), TaskKind::Go);
        wg.add(1);
        assert_ne!(wg.state.load(Ordering::Relaxed) & PANICKED, 0);
        wg.done();
        let mut report = wg.idle_outcome().unwrap().unwrap_err();
        assert_eq!(
            report.take_payload().unwrap().downcast_ref::<&str>(),
            Some(&"kept")
        );
    }

    #[test]
    fn deregistering_never_takes_a_count_that_is_not_there() {
        let wg = WaitGroup::new();
        let gen = generation(wg.state.load(Ordering::Relaxed));
        // Same generation, no waiters: a wrapped generation, not our registration.
        assert!(!wg.deregister(gen));
        assert_eq!(wg.state.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn dropping_a_group_frees_its_unclaimed_payload() {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.record_panic(Box::new("first"), TaskKind::Go);
        wg.record_panic(Box::new("second, dropped"), TaskKind::Go);
        let id = wg.panic_id.load(Ordering::Relaxed);
        assert_ne!(id, 0);
        {
            let slots = Slots::lock();
            let stored = lock(slots.get(id).unwrap());
            assert_eq!(stored.count, 2);
            let payload = stored.payload.as_ref().unwrap();
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"first"));
        }
        drop(wg);
        assert!(Slots::lock().take(id).is_none());
    }

    #[test]
    fn dropping_an_idle_group_frees_its_unclaimed_payload() {
        // The ordinary state of a group whose task panicked and nobody waited: exactly
        // `PANICKED` (counter, waiters and generation all zero).
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("unclaimed"), TaskKind::GoScoped);
        assert_eq!(wg.state.load(Ordering::Relaxed), PANICKED);
        let id = wg.panic_id.load(Ordering::Relaxed);
        drop(wg);
        assert!(Slots::lock().take(id).is_none());
    }

    #[test]
    fn payloads_follow_their_group_when_groups_are_swapped() {
        let mut a = WaitGroup::new();
        let mut b = WaitGroup::new();
        a.record_panic(Box::new("from a"), TaskKind::Go);
        b.record_panic(Box::new("from b"), TaskKind::Go);
        std::mem::swap(&mut a, &mut b);
        let message = |wg: &WaitGroup| {
            let payload = wg
                .idle_outcome()
                .unwrap()
                .unwrap_err()
                .into_payload()
                .unwrap();
            *payload.downcast_ref::<&str>().unwrap()
        };
        assert_eq!(message(&a), "from b");
        assert_eq!(message(&b), "from a");
    }

    #[test]
    fn release_skips_when_every_waiter_timed_out() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        assert!(!wg.wait_timeout(Duration::from_millis(1)));
        // The waiter is gone: the last `done` takes the fast path and leaves the generation.
        let before = wg.state.load(Ordering::Relaxed);
        assert_eq!(waiters(before), 0);
        wg.done();
        assert_eq!(wg.state.load(Ordering::Relaxed), before - counter_addend(1));
    }

    /// The largest `add` a zero counter takes, `i32::MAX`, where the write is not all (a zero
    /// with a panic report, or with registered waiters): accepted, or refused as an add during
    /// the release, never as an overflow (the slow path's overflow check is `after > MAX`).
    #[test]
    fn the_largest_add_on_a_flagged_zero_is_no_overflow() {
        let max = MAX_COUNT as isize;
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("kept"), TaskKind::Go);
        assert_eq!(wg.try_add(max), Ok(()));
        assert_eq!(wg.count(), max as usize);
        assert_eq!(wg.try_add(1), Err(Error::CounterOverflow { delta: 1 }));
        wg.add(-max);
        // The report nobody took is still there for the waiter.
        let mut report = wg.idle_outcome().unwrap().unwrap_err();
        assert!(report.take_payload().is_some());

        let wg = WaitGroup::new();
        // Counter zero, one registered waiter: the instant before the release (by hand).
        wg.state.store(1, Ordering::Relaxed);
        assert_eq!(wg.try_add(max), Err(Error::AddDuringWait));
        assert_eq!(wg.state.load(Ordering::Relaxed), released(1));
        wg.state.store(0, Ordering::Relaxed);
    }

    /// Round 1's delivered report, and the next round's counter: `wg` with one delivered
    /// report (PANICKED, its payload taken) and a zero counter.
    fn with_a_delivered_report() -> WaitGroup {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("round 1"), TaskKind::Go);
        let mut first = wg.idle_outcome().unwrap().unwrap_err();
        assert!(first.take_payload().is_some());
        wg
    }

    /// Fails unless a waiter of `wg`'s zero gets round 1's delivered report.
    #[track_caller]
    fn assert_the_delivered_report_is_kept(wg: &WaitGroup) {
        assert_ne!(wg.state.load(Ordering::Relaxed) & PANICKED, 0);
        let report = wg.idle_outcome().unwrap().unwrap_err();
        assert!(report.handed_elsewhere());
        assert_eq!(report.message(), Some("round 1"));
    }

    /// The round's first `add` finds the counter back at zero when it gets the report's lock
    /// (a `done` ran ahead of the `add`'s return, a misuse): the delivered report is kept for
    /// that zero's waiters (`clear_delivered_report`).
    #[test]
    fn a_first_add_that_finds_the_counter_back_at_zero_keeps_the_delivered_report() {
        let wg = with_a_delivered_report();
        // The `add`'s write on (0, PANICKED); the `done`'s write; then the `add` takes the lock.
        wg.state.fetch_add(counter_addend(1), Ordering::Release);
        wg.state.fetch_sub(counter_addend(1), Ordering::Release);
        wg.clear_delivered_report();
        assert_the_delivered_report_is_kept(&wg);
    }

    /// Only a round's `add` decides about a delivered report: a `done` that backed off from a
    /// negative counter and wrote again, landing on a positive counter with the report, leaves
    /// it. (If it cleared it, a later zero reached before the round's first `add` took the
    /// lock, by `done`s racing ahead of that `add`, would lose the report the `add` keeps.)
    #[test]
    fn a_done_written_again_after_a_back_off_leaves_a_delivered_report_to_the_add() {
        let wg = with_a_delivered_report();
        // The round's first `add(2)` has written on (0, PANICKED), not yet taken the lock.
        wg.state.fetch_add(counter_addend(2), Ordering::Release);
        // A refused `add(-3)` writes (counter -1); a `done` lands on it (-2) and will back off.
        let refused = counter_addend(-3);
        wg.state.fetch_add(refused, Ordering::Release);
        let old = wg.state.fetch_add(counter_addend(-1), Ordering::Release);
        assert_eq!(counter(old), -1);
        // The refused write's undo; the `done` backs off and writes again on a positive counter.
        wg.state.fetch_sub(refused, Ordering::Relaxed);
        assert_eq!(wg.add_slow(old, -1), Ok(()));
        assert_eq!(wg.count(), 1);
        // A second `done` ahead of the `add`; then the `add` takes the lock at the zero.
        wg.state.fetch_sub(counter_addend(1), Ordering::Release);
        wg.clear_delivered_report();
        assert_the_delivered_report_is_kept(&wg);
    }

    /// An `add` whose write landed on another call's refused write (the counter negative until
    /// that call's undo) takes its unit back and waits for the undo: it does not return while
    /// the counter is negative, and does, with its unit added, once the undo is in, also when
    /// the undo leaves the counter at zero.
    #[test]
    fn an_add_on_a_refused_write_waits_for_its_undo_then_adds() {
        let wg = WaitGroup::new();
        // A refused `done` on the idle group has written -1; the `add`'s write lands on it.
        let refused = counter_addend(-1);
        wg.state.fetch_add(refused, Ordering::Release);
        let old = wg.state.fetch_add(counter_addend(1), Ordering::Release);
        assert_eq!(counter(old), -1);
        /// On a failure, units enough to let a spinning adder go, so the scope can join it.
        struct LetGo<'a>(&'a WaitGroup);
        impl Drop for LetGo<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0
                        .state
                        .fetch_add(counter_addend(1000), Ordering::Release);
                }
            }
        }
        std::thread::scope(|s| {
            let adder = s.spawn(|| wg.add_slow(old, 1));
            let _let_go = LetGo(&wg);
            // Its back-off: the unit taken back, the counter -1 again.
            wait_for("the add's back-off", -1, || {
                counter(wg.state.load(Ordering::Acquire))
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(!adder.is_finished(), "the add returned before the undo");
            // A build that wrote again before the undo would show its unit (a zero counter):
            // then the undo goes in exactly there, so that its next back-off leaves a zero.
            // A correct build never writes here, and gets the undo after this window.
            let window = Instant::now() + Duration::from_millis(100);
            let mut undone = false;
            while !undone && Instant::now() < window {
                undone = wg
                    .state
                    .compare_exchange(0, counter_addend(1), Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok();
            }
            if !undone {
                wg.state.fetch_sub(refused, Ordering::Release);
            }
            crate::test_support::wait_until("the add to return after the undo", || {
                adder.is_finished()
            });
            assert_eq!(adder.join().unwrap(), Ok(()));
        });
        assert_eq!(wg.count(), 1);
        wg.done();
    }
}
