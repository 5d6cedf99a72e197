//! `Limit`: the counting semaphore behind a group's concurrency limit. Cancellation wakes
//! every caller blocked on a slot (the deadlock of conc #88 cannot happen).

use crate::first_panic::FirstPanic;
use crate::sync::{lock, Condvar, Mutex};
use std::collections::BTreeMap;
use std::fmt;
use std::task::{Context, Poll, Waker};

/// At most `max` slots taken at once. A slot is taken when a task is admitted and given back
/// when it finishes.
pub(crate) struct Limit {
    max: usize,
    state: Mutex<State>,
    /// Blocked `acquire` callers sleep here.
    cond: Condvar,
}

struct State {
    used: usize,
    /// Set once by the group's token: no slot is handed out any more, every waiter returns.
    cancelled: bool,
    /// Pending async acquirers, by key. All of them are woken when a slot is freed (they
    /// re-register if they lose the race), so a woken future that is dropped unpolled cannot
    /// swallow the wake-up another waiter needed.
    wakers: BTreeMap<u64, Waker>,
    next_key: u64,
}

/// What an acquire attempt got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// A slot, to be given back with `release`.
    Slot,
    /// No slot will be handed out: the group was cancelled.
    Cancelled,
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
                wakers: BTreeMap::new(),
                next_key: 0,
            }),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Takes a slot, blocking while all are taken; returns `Cancelled` (without a slot) as
    /// soon as the group is cancelled.
    pub(crate) fn acquire(&self) -> Acquired {
        let mut state = lock(&self.state);
        loop {
            // Both conditions are re-checked under the lock before every sleep; `release` and
            // `cancel` change them under the same lock and notify after, so neither a slot
            // freed nor a cancellation between our check and our sleep is missed.
            if state.cancelled {
                return Acquired::Cancelled;
            }
            if state.used < self.max {
                state.used += 1;
                return Acquired::Slot;
            }
            state = self
                .cond
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Takes a slot if one is free now. `None`: all are taken.
    pub(crate) fn try_acquire(&self) -> Option<Acquired> {
        let mut state = lock(&self.state);
        if state.cancelled {
            Some(Acquired::Cancelled)
        } else if state.used < self.max {
            state.used += 1;
            Some(Acquired::Slot)
        } else {
            None
        }
    }

    /// The async form of `acquire`. `key` is the caller's registration, kept between polls
    /// and passed to `unregister` when the caller is dropped.
    pub(crate) fn poll_acquire(
        &self,
        cx: &mut Context<'_>,
        key: &mut Option<u64>,
    ) -> Poll<Acquired> {
        // Cloned before taking the lock: cloning a waker is user code.
        let waker = cx.waker().clone();
        let mut state = lock(&self.state);
        let ready = if state.cancelled {
            Some(Acquired::Cancelled)
        } else if state.used < self.max {
            state.used += 1;
            Some(Acquired::Slot)
        } else {
            None
        };
        let old = match ready {
            Some(_) => key.take().and_then(|k| state.wakers.remove(&k)),
            None => {
                // Registered under the same lock as the check above: a `release` or `cancel`
                // after it takes the table and wakes us.
                let k = *key.get_or_insert_with(|| {
                    state.next_key += 1;
                    state.next_key
                });
                state.wakers.insert(k, waker)
            }
        };
        drop(state);
        drop(old); // wakers are dropped outside the lock
        match ready {
            Some(acquired) => Poll::Ready(acquired),
            None => Poll::Pending,
        }
    }

    /// Forgets an async acquirer's registration (its future was dropped).
    pub(crate) fn unregister(&self, key: Option<u64>) {
        if let Some(k) = key {
            let old = lock(&self.state).wakers.remove(&k);
            drop(old); // outside the lock
        }
    }

    /// Gives a slot back and wakes the callers waiting for one. A panicking `wake` is kept in
    /// `panic` after every other waker was woken (issue 20, item 5).
    pub(crate) fn release(&self, panic: &mut FirstPanic) {
        let wakers = {
            let mut state = lock(&self.state);
            debug_assert!(state.used > 0);
            state.used -= 1;
            std::mem::take(&mut state.wakers)
        };
        // One blocked thread is enough: it takes the slot or, if an async waiter got there
        // first, the slot is in use and will be released again.
        self.cond.notify_one();
        for waker in wakers.into_values() {
            panic.run(|| waker.wake()); // outside the lock: user code
        }
    }

    /// The group was cancelled: wake every waiter, hand out no more slots. A panicking `wake`
    /// is kept in `panic` after every other waker was woken.
    pub(crate) fn cancel(&self, panic: &mut FirstPanic) {
        let wakers = {
            let mut state = lock(&self.state);
            state.cancelled = true;
            std::mem::take(&mut state.wakers)
        };
        self.cond.notify_all();
        for waker in wakers.into_values() {
            panic.run(|| waker.wake()); // outside the lock: user code
        }
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Limit")
            .field("max", &self.max)
            .field("used", &state.used)
            .field("cancelled", &state.cancelled)
            .finish()
    }
}
