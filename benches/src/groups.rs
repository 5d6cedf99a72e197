//! The groups measured, behind the one interface Go's shapes use.

use crate::condvar::CondvarGroup;
use crate::threads::idle_pause;
use groupwait::WaitGroup;
use std::sync::atomic::{AtomicU64, Ordering};

/// The operations Go's shapes use. crossbeam's group has a different shape (clone = add,
/// drop = done, `wait(self)` consumes the group) and is written out in each benchmark instead.
pub trait Group: Send + Sync + 'static {
    /// A group with a zero counter.
    fn create() -> Self;
    /// Adds one.
    fn add1(&self);
    /// Adds `n`.
    fn add_n(&self, n: u32);
    /// Subtracts one.
    fn done(&self);
    /// Returns once the counter is zero.
    fn wait(&self);
}

impl Group for WaitGroup {
    fn create() -> Self {
        WaitGroup::new()
    }
    #[inline]
    fn add1(&self) {
        self.add(1);
    }
    fn add_n(&self, n: u32) {
        self.add(isize::try_from(n).expect("fits"));
    }
    #[inline]
    fn done(&self) {
        WaitGroup::done(self);
    }
    #[inline]
    fn wait(&self) {
        WaitGroup::wait(self);
    }
}

impl Group for CondvarGroup {
    fn create() -> Self {
        CondvarGroup::new()
    }
    #[inline]
    fn add1(&self) {
        self.add(1);
    }
    fn add_n(&self, n: u32) {
        self.add(n as usize);
    }
    #[inline]
    fn done(&self) {
        CondvarGroup::done(self);
    }
    #[inline]
    fn wait(&self) {
        CondvarGroup::wait(self);
    }
}

/// The bare-atomic limit: Go's fast paths with nothing else (`Add` = `fetch_add`, `Wait` on
/// zero = one `Acquire` load); a waiter that must wait spins on the load (see [`idle_pause`]).
pub struct AtomicGroup(AtomicU64);

impl Group for AtomicGroup {
    fn create() -> Self {
        AtomicGroup(AtomicU64::new(0))
    }
    #[inline]
    fn add1(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
    fn add_n(&self, n: u32) {
        self.0.fetch_add(u64::from(n), Ordering::Release);
    }
    #[inline]
    fn done(&self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
    #[inline]
    fn wait(&self) {
        if self.0.load(Ordering::Acquire) != 0 {
            self.wait_slow();
        }
    }
}

impl AtomicGroup {
    #[cold]
    fn wait_slow(&self) {
        let mut idle = 0;
        while self.0.load(Ordering::Acquire) != 0 {
            idle_pause(&mut idle);
        }
    }
}
