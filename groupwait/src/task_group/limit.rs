//! `Limit`: the counting semaphore behind a group's concurrency limit, first come first
//! served. A freed slot is handed to the longest-waiting caller, and only that one is woken
//! (issue 20, item 4). Cancellation wakes every caller (the deadlock of conc #88 cannot happen).

use crate::first_panic::FirstPanic;
use crate::sync::{lock, Condvar, Mutex};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::task::{Context, Poll, Waker};

/// How many times a blocking `acquire` yields and retries before it sleeps in line (one under
/// the model checker, which explores each retry).
const SPINS: usize = if cfg!(groupwait_loom) { 1 } else { 8 };

/// At most `max` slots taken at once. A slot is taken when a task is admitted and given back
/// when it finishes.
pub(crate) struct Limit {
    max: usize,
    state: Mutex<State>,
    /// Blocked `acquire` callers sleep here.
    cond: Condvar,
}

struct State {
    /// Slots taken, by admitted tasks or handed to a waiter that has not picked it up yet.
    used: usize,
    /// Set once by the group's token: no slot is handed out any more, every waiter returns.
    cancelled: bool,
    /// Callers waiting for a slot, by key, in arrival order (keys only grow).
    queue: BTreeMap<u64, Waiter>,
    /// Waiters a freed slot was handed to (counted in `used`), until they pick it up. A
    /// granted async waiter dropped before that hands the slot on (`unregister`), so a woken
    /// future that is never polled again cannot swallow the slot.
    granted: BTreeSet<u64>,
    next_key: u64,
}

/// A caller waiting for a slot.
enum Waiter {
    /// A blocked `acquire`: woken through the condvar.
    Thread,
    /// A pending `poll_acquire`: woken through its waker.
    Task(Waker),
}

/// What an acquire attempt got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// A slot, to be given back with `release`.
    Slot,
    /// No slot will be handed out: the group was cancelled.
    Cancelled,
}

/// What a release or an unregistration must do after the lock: wake a task, or the threads.
enum Wake {
    Nobody,
    Threads,
    Task(Waker),
}

impl Wake {
    fn run(self, limit: &Limit, panic: &mut FirstPanic) {
        match self {
            Wake::Nobody => {}
            // Every blocked thread re-checks; only the granted one returns.
            Wake::Threads => limit.cond.notify_all(),
            Wake::Task(waker) => panic.run(|| waker.wake()), // user code
        }
    }
}

impl State {
    /// Takes a slot at once if nobody waits for one (first come, first served).
    fn take_free(&mut self, max: usize) -> bool {
        let free = self.queue.is_empty() && self.used < max;
        if free {
            self.used += 1;
        }
        free
    }

    /// A slot comes free: hands it to the longest-waiting caller (it stays counted in
    /// `used`), or gives it back. Returns whom to wake after the lock.
    fn hand_on(&mut self) -> Wake {
        if !self.cancelled {
            if let Some((key, waiter)) = self.queue.pop_first() {
                self.granted.insert(key);
                return match waiter {
                    Waiter::Thread => Wake::Threads,
                    Waiter::Task(waker) => Wake::Task(waker),
                };
            }
        }
        debug_assert!(self.used > 0);
        self.used -= 1;
        Wake::Nobody
    }

    fn new_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }
}

impl Limit {
    /// A limit of `max` slots; `max >= 1` is checked by the builder.
    pub(crate) fn new(max: usize) -> Self {
        debug_assert!(max >= 1);
        Limit {
            max,
            state: Mutex::new(State {
                used: 0,
                cancelled: false,
                queue: BTreeMap::new(),
                granted: BTreeSet::new(),
                next_key: 0,
            }),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes a slot, blocking in line while all are taken; returns `Cancelled` (without a
    /// slot) as soon as the group is cancelled.
    pub(crate) fn acquire(&self) -> Acquired {
        let mut state = lock(&self.state);
        if state.cancelled {
            return Acquired::Cancelled;
        }
        if state.take_free(self.max) {
            return Acquired::Slot;
        }
        // A tiny task frees its slot within microseconds: a few yields before joining the
        // line save the sleep and the wake-up (a futex call each) per task. Not yet in line
        // while yielding, so a caller that joins the line meanwhile goes first (FIFO counts
        // from joining the line); each retry re-checks both conditions under the lock.
        for _ in 0..SPINS {
            drop(state);
            crate::sync::yield_now();
            state = lock(&self.state);
            if state.cancelled {
                return Acquired::Cancelled;
            }
            if state.take_free(self.max) {
                return Acquired::Slot;
            }
        }
        let key = state.new_key();
        state.queue.insert(key, Waiter::Thread);
        loop {
            state = self
                .cond
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Both conditions are re-checked under the lock after every wake-up; `release`
            // (which grants) and `cancel` change them under the same lock and notify after,
            // so neither a grant nor a cancellation between our check and our sleep is missed.
            if state.granted.remove(&key) {
                return Acquired::Slot;
            }
            if state.cancelled {
                state.queue.remove(&key);
                return Acquired::Cancelled;
            }
        }
    }

    /// Takes a slot if one is free now and nobody waits for one. `None`: all are taken.
    pub(crate) fn try_acquire(&self) -> Option<Acquired> {
        let mut state = lock(&self.state);
        if state.cancelled {
            Some(Acquired::Cancelled)
        } else if state.take_free(self.max) {
            Some(Acquired::Slot)
        } else {
            None
        }
    }

    /// The async form of `acquire`. `key` is the caller's place in line, kept between polls
    /// and passed to `unregister` when the caller is dropped.
    pub(crate) fn poll_acquire(
        &self,
        cx: &mut Context<'_>,
        key: &mut Option<u64>,
    ) -> Poll<Acquired> {
        // Cloned before taking the lock: cloning a waker is user code.
        let waker = cx.waker().clone();
        let mut state = lock(&self.state);
        let ready = match *key {
            // A slot was handed to us (also if cancelled since: the task is then recorded as
            // cancelled and the slot given back, see `Shared::admit`).
            Some(k) if state.granted.remove(&k) => Some(Acquired::Slot),
            _ if state.cancelled => Some(Acquired::Cancelled),
            None if state.take_free(self.max) => Some(Acquired::Slot),
            _ => None,
        };
        let old = match ready {
            Some(_) => key.take().and_then(|k| state.queue.remove(&k)),
            None => {
                // In line under the same lock as the checks above: a `release` or `cancel`
                // after them finds our waker. A re-poll keeps its place and updates the waker.
                let k = match *key {
                    Some(k) => k,
                    None => *key.insert(state.new_key()),
                };
                state.queue.insert(k, Waiter::Task(waker))
            }
        };
        drop(state);
        drop(old); // wakers are dropped outside the lock
        match ready {
            Some(acquired) => Poll::Ready(acquired),
            None => Poll::Pending,
        }
    }

    /// Forgets an async acquirer's place (its future was dropped). If a slot had been handed to
    /// it, the slot goes to the next in line: the hand-off is not lost.
    pub(crate) fn unregister(&self, key: Option<u64>) {
        let Some(k) = key else { return };
        let (old, wake) = {
            let mut state = lock(&self.state);
            let old = state.queue.remove(&k);
            let wake = if state.granted.remove(&k) {
                state.hand_on()
            } else {
                Wake::Nobody
            };
            (old, wake)
        };
        drop(old); // outside the lock
        let mut panic = FirstPanic::new();
        wake.run(self, &mut panic);
        panic.resume();
    }

    /// Gives a slot back: hands it to the longest-waiting caller and wakes that one only. A
    /// panicking `wake` is kept in `panic` (issue 20, item 5).
    pub(crate) fn release(&self, panic: &mut FirstPanic) {
        let wake = lock(&self.state).hand_on();
        wake.run(self, panic);
    }

    /// The group was cancelled: wake every waiter, hand out no more slots. A panicking `wake`
    /// is kept in `panic` after every other waker was woken.
    pub(crate) fn cancel(&self, panic: &mut FirstPanic) {
        let queue = {
            let mut state = lock(&self.state);
            state.cancelled = true;
            // Taken out: each caller sees `cancelled` when it looks again (a thread removes its
            // entry itself; it is gone already, which changes nothing for it).
            std::mem::take(&mut state.queue)
        };
        self.cond.notify_all();
        for waiter in queue.into_values() {
            if let Waiter::Task(waker) = waiter {
                panic.run(|| waker.wake()); // outside the lock: user code
            }
        }
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Limit")
            .field("max", &self.max)
            .field("used", &state.used)
            .field("waiting", &state.queue.len())
            .field("cancelled", &state.cancelled)
            .finish()
    }
}
