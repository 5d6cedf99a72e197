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
//! Interface: [`park`] sleeps while a condition holds, re-checking it under the bucket lock;
//! [`unpark_all`] wakes every sleeper of a key after the caller has made the condition false.

use crate::sync::{lock, Condvar, Mutex};
use std::time::Instant;

/// Number of buckets. Groups whose addresses hash alike share a bucket; a wake then also wakes
/// the other group's sleepers, which re-check their own word and sleep again.
const BUCKETS: usize = 64;

#[repr(align(64))] // one cache line each, so neighbouring buckets do not contend
struct Bucket {
    /// How many threads sleep (or are about to) on `wakeup`.
    sleepers: Mutex<usize>,
    wakeup: Condvar,
}

static TABLE: [Bucket; BUCKETS] = [const {
    Bucket {
        sleepers: Mutex::new(0),
        wakeup: Condvar::new(),
    }
}; BUCKETS];

fn bucket(key: usize) -> &'static Bucket {
    // Fibonacci hashing: the multiplication spreads the address bits, the top bits pick the
    // bucket. Objects are at least 8-aligned, so the low bits carry no information.
    let hash = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(hash >> (64 - BUCKETS.trailing_zeros())) as usize]
}

/// Sleeps while `should_sleep()` is true, until [`unpark_all`] for `key` or `deadline`.
///
/// Returns `true` once `should_sleep()` was seen false, `false` if the deadline passed first
/// (never before it). `should_sleep` is evaluated under the bucket lock.
pub(crate) fn park(key: usize, should_sleep: impl Fn() -> bool, deadline: Option<Instant>) -> bool {
    let bucket = bucket(key);
    let mut sleepers = lock(&bucket.sleepers);
    loop {
        // The re-check under the lock prevents the lost wakeup where the waker makes the
        // condition false and calls `unpark_all` between our last look at the state and our
        // sleep: `unpark_all` takes this lock after the change, so either we see the change
        // here, or we are already waiting on the condvar when it notifies.
        if !should_sleep() {
            return true;
        }
        *sleepers += 1;
        sleepers = match deadline {
            None => bucket
                .wakeup
                .wait(sleepers)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    *sleepers -= 1;
                    return false;
                }
                bucket
                    .wakeup
                    .wait_timeout(sleepers, deadline - now)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
        *sleepers -= 1;
    }
}

/// Wakes every thread parked on `key` (and any other key sharing its bucket).
///
/// Call it after making the sleepers' condition false. Skips the wake-up call when nobody
/// sleeps in the bucket (the registered waiters are all still spinning).
pub(crate) fn unpark_all(key: usize) {
    let bucket = bucket(key);
    let sleepers = lock(&bucket.sleepers);
    if *sleepers > 0 {
        bucket.wakeup.notify_all();
    }
}
