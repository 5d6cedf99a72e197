//! The public `WaitGroup`: Go's Add/Done/Wait on one 64-bit state word.

use crate::error::Error;
use crate::panic_slot::{Payload, Slots};
use crate::parking;
use crate::state::{
    counter, counter_addend, generation, released, waiters, COUNTER, MAX_COUNT, PANICKED, WAITERS,
};
use crate::sync::{AtomicU64, Ordering};
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
/// until the counter is back to zero. Any number of threads may wait at once; all of them are
/// released together. Once every waiter has returned, the group can be used for a new round.
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
    /// counter races with waiters being released. The group is left exactly as it was.
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

    /// Like [`add`](Self::add), but reports misuse as an [`Error`] instead of panicking. The
    /// group is unchanged when an error is returned.
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
        let addend = counter_addend(delta);
        // Check, then write, in one compare-exchange: a refused `add` never writes, so no
        // other thread ever sees a counter out of range, not even for an instant (Go writes
        // first and checks after, which lets a misuse on one thread fail correct calls on
        // others). Uncontended this is one load and one read-modify-write.
        // Relaxed load: only a guess for the compare-exchange, which checks it.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let old = counter(state);
            let new = old + delta;
            if new > MAX_COUNT {
                return Err(Error::CounterOverflow {
                    delta: delta as isize,
                });
            }
            if new < 0 {
                return Err(Error::NegativeCounter);
            }
            if delta > 0 && old == 0 && waiters(state) != 0 {
                // Waiters registered, yet the counter is zero: they are being released right
                // now, and this `add` would start a new round before they returned (Go's check).
                return Err(Error::AddDuringWait);
            }
            // Release: pairs with the Acquire loads of the waiters (`wait`, `count`, the
            // re-checks while waiting); every change of this word is a read-modify-write, so
            // the waiter that sees the counter at zero synchronizes with every `add` and `done`
            // before it (release sequence), and this task's writes are visible after `wait`
            // returns. Relaxed on failure: we only retry with the fresh value.
            match self.state.compare_exchange_weak(
                state,
                state.wrapping_add(addend),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if new == 0 && waiters(state) != 0 {
                        self.release_waiters(state.wrapping_add(addend));
                    }
                    return Ok(());
                }
                Err(now) => state = now,
            }
        }
    }

    /// Releases every registered waiter, once the counter is zero. `state` is the word the
    /// caller wrote: a zero counter and waiters.
    #[cold]
    fn release_waiters(&self, mut state: u64) {
        loop {
            // AcqRel: the Release half publishes the zero counter to the waiters' Acquire
            // re-checks (they return on seeing the new generation); the Acquire half keeps
            // the chain of every earlier `done` in this read-modify-write.
            match self.state.compare_exchange_weak(
                state,
                released(state),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => {
                    // While the counter is zero with waiters, `add` refuses every delta and no
                    // waiter registers, so only deregistrations (timed-out or cancelled
                    // waiters) change the word: retry with fewer waiters. Once the last one is
                    // gone the group is idle and a new round may begin (found by the loom
                    // model `m3_timed_out_waiter_races_the_final_done`): stop, unless the
                    // word again shows a zero counter with waiters, which may be released by
                    // anyone, in whatever round.
                    if counter(now) != 0 || waiters(now) == 0 {
                        return;
                    }
                    state = now;
                }
            }
        }
        // From here on the group may already be freed by a released waiter: only its address
        // is used, as a key into the static sleeping table.
        parking::unpark_all(self.key());
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
    /// # Panics
    ///
    /// * If a task of the group started with [`go`](Self::go) or [`go_scoped`](Self::go_scoped)
    ///   panicked, or a [`Guard`](crate::Guard) was dropped by a panic, `wait` re-raises the
    ///   first such panic once the counter is zero (only one waiter receives it; it is then
    ///   cleared).
    /// * `WaitGroup is reused before previous Wait has returned` (Go's check) if, when this
    ///   waiter is released, a new round has already started: the next round's `add` must
    ///   happen after every `wait` of the previous round returned.
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
        self.wait_slow(None);
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`. Returns `true` if the counter
    /// reached zero, `false` if the time ran out first; never `false` before `timeout` has
    /// passed. A waiter that gives up leaves no trace in the group.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), when it would return `true`.
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
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => {
                self.wait();
                true
            }
        }
    }

    /// Like [`wait`](Self::wait), but gives up at `deadline`. Returns `true` if the counter
    /// reached zero, `false` if the deadline came first; never `false` before `deadline`.
    /// A waiter that gives up leaves no trace in the group.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), when it would return `true`.
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
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        // Acquire: as in `wait`.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | PANICKED) == 0 {
            return true;
        }
        self.wait_slow(Some(deadline))
    }

    /// Registers as a waiter, waits for the release (or the deadline), and deregisters on
    /// timeout. Returns `true` when released.
    #[cold]
    fn wait_slow(&self, deadline: Option<Instant>) -> bool {
        let Some(registered_gen) = self.register() else {
            self.raise_pending_panic();
            return true;
        };
        if !self.sleep_until_released(registered_gen, deadline) && self.deregister(registered_gen) {
            return false;
        }
        self.finish_released();
        true
    }

    /// Registers one waiter, unless the counter is zero (then `None`: no need to wait).
    /// Returns the generation registered under; the waiter is released when it changes.
    pub(crate) fn register(&self) -> Option<u64> {
        // Acquire on every load here: pairs with the Release of `done`, as in `wait`.
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if counter(state) == 0 {
                return None;
            }
            if waiters(state) == WAITERS {
                panic!("groupwait: too many waiters on one WaitGroup");
            }
            // Relaxed on success: registering publishes nothing; the waiter learns of its
            // release through Acquire re-checks of the generation.
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::Relaxed,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(generation(state)),
                Err(now) => state = now,
            }
        }
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

    /// The end of a released wait: Go's reuse check, then a task's panic, if any.
    pub(crate) fn finish_released(&self) {
        // Go's check: the releaser zeroed counter and waiters; anything there now comes from
        // a next round begun before this `wait` returned. Acquire: as in `wait`.
        let state = self.state.load(Ordering::Acquire);
        if state & (COUNTER | WAITERS) != 0 {
            panic!("groupwait: WaitGroup is reused before previous Wait has returned");
        }
        self.raise_pending_panic();
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

    /// Re-raises a task's panic recorded for this group, if any (and clears it).
    pub(crate) fn raise_pending_panic(&self) {
        // Relaxed: only a hint; the decision is taken under the slots lock in `take_panic`.
        if self.state.load(Ordering::Relaxed) & PANICKED == 0 {
            return;
        }
        if let Some(payload) = self.take_panic() {
            std::panic::resume_unwind(payload);
        }
    }

    /// Takes the recorded panic, if this caller is the first to see it.
    fn take_panic(&self) -> Option<Payload> {
        let payload = {
            let mut slots = Slots::lock();
            // The slots lock orders every change of PANICKED and of the id: Relaxed suffices.
            if self.state.load(Ordering::Relaxed) & PANICKED == 0 {
                return None; // another waiter took it first
            }
            self.state.fetch_and(!PANICKED, Ordering::Relaxed);
            slots.take(self.panic_id.load(Ordering::Relaxed))
        };
        // PANICKED is set exactly while a payload is stored under the id.
        Some(payload.expect("groupwait: a recorded panic has its payload"))
    }

    /// Records a task's panic for a waiter to re-raise. The first panic is kept until a
    /// waiter takes it; later ones are dropped (their threads already reported them). Call
    /// before the task's `done`, so the waiter it releases sees the record.
    pub(crate) fn record_panic(&self, payload: Payload) {
        let discarded = {
            let mut slots = Slots::lock();
            // Relaxed: the slots lock orders every change of PANICKED and of the id; the
            // task's `done` (Release, after this) publishes the bit to the waiter it releases.
            if self.state.load(Ordering::Relaxed) & PANICKED != 0 {
                Some(payload)
            } else {
                let mut id = self.panic_id.load(Ordering::Relaxed);
                if id == 0 {
                    id = slots.new_id();
                    self.panic_id.store(id, Ordering::Relaxed);
                }
                slots.put(id, payload);
                self.state.fetch_or(PANICKED, Ordering::Relaxed);
                None
            }
        };
        // Dropped outside the lock: a payload's destructor may itself panic.
        drop(discarded);
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
        // The counter is never negative (every `add` checks before it writes).
        counter(self.state.load(Ordering::Acquire)) as usize
    }

    /// The key of this group in the static sleeping and panic tables: its address.
    pub(crate) fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

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
        f.debug_struct("WaitGroup")
            .field("count", &counter(state))
            .field("waiters", &waiters(state))
            .field("panicked", &(state & PANICKED != 0))
            .finish()
    }
}

impl Drop for WaitGroup {
    fn drop(&mut self) {
        // A payload nobody waited for would otherwise stay in the global list.
        // Relaxed: `&mut self`, no other thread can touch the word any more.
        if self.state.load(Ordering::Relaxed) & PANICKED != 0 {
            let payload = Slots::lock().take(self.panic_id.load(Ordering::Relaxed));
            drop(payload);
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
    fn add_while_waiters_are_being_released_is_refused_without_a_write() {
        let wg = WaitGroup::new();
        // Counter zero, one registered waiter: the instant between the last `done` and the
        // release of the waiters.
        wg.state.store(1, Ordering::Relaxed);
        assert_eq!(wg.try_add(1), Err(Error::AddDuringWait));
        assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter));
        assert_eq!(wg.state.load(Ordering::Relaxed), 1);
        wg.state.store(0, Ordering::Relaxed);
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
            wg.state.store(next_round, Ordering::Release);
            parking::unpark_all(wg.key());
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
    fn a_waiter_that_comes_second_to_a_panic_takes_nothing() {
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("taken once"));
        assert!(wg.take_panic().is_some());
        // The second waiter saw the bit before the first cleared it: it finds nothing.
        assert!(wg.take_panic().is_none());
        wg.raise_pending_panic(); // nothing pending: returns
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
        wg.record_panic(Box::new("first"));
        wg.record_panic(Box::new("second, dropped"));
        let id = wg.panic_id.load(Ordering::Relaxed);
        assert_ne!(id, 0);
        let stored = Slots::lock().take(id).unwrap();
        assert_eq!(stored.downcast_ref::<&str>(), Some(&"first"));
        Slots::lock().put(id, stored);
        drop(wg);
        assert!(Slots::lock().take(id).is_none());
    }

    #[test]
    fn dropping_an_idle_group_frees_its_unclaimed_payload() {
        // The ordinary state of a group whose task panicked and nobody waited: exactly
        // `PANICKED` (counter, waiters and generation all zero).
        let wg = WaitGroup::new();
        wg.record_panic(Box::new("unclaimed"));
        assert_eq!(wg.state.load(Ordering::Relaxed), PANICKED);
        let id = wg.panic_id.load(Ordering::Relaxed);
        drop(wg);
        assert!(Slots::lock().take(id).is_none());
    }

    #[test]
    fn payloads_follow_their_group_when_groups_are_swapped() {
        let mut a = WaitGroup::new();
        let mut b = WaitGroup::new();
        a.record_panic(Box::new("from a"));
        b.record_panic(Box::new("from b"));
        std::mem::swap(&mut a, &mut b);
        let message = |wg: &WaitGroup| {
            let payload = wg.take_panic().unwrap();
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
}
