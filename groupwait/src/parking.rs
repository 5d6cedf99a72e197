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
//! Async waiters wait here too: a bucket also holds the `Waker`s of pending `wait_async`
//! futures, so one release wakes threads and tasks alike.
//!
//! Interface: [`park`] sleeps while a condition holds, re-checking it under the bucket lock;
//! [`register_waker`] / [`cancel_waker`] do the same for a task; [`unpark_all`] wakes every
//! sleeper and task of a key after the caller has made the condition false.

use crate::sync::{lock, Condvar, Mutex};
use std::task::Waker;
use std::time::Instant;

/// Number of buckets. Groups whose addresses hash alike share a bucket; a wake then also wakes
/// the other group's sleeping threads, which re-check their own word and sleep again (tasks
/// are woken by key, never by bucket).
/// (Two under loom: fewer objects for the model checker, and shared buckets get explored.)
const BUCKETS: usize = if cfg!(groupwait_loom) { 2 } else { 64 };

/// How many wakers `unpark_all` takes out per lock acquisition; they are woken outside the lock.
const WAKE_BATCH: usize = 16;

#[repr(align(64))] // one cache line each, so neighbouring buckets do not contend
struct Bucket {
    waiting: Mutex<Waiting>,
    wakeup: Condvar,
}

/// Who waits in a bucket.
struct Waiting {
    /// How many threads sleep (or are about to) on `wakeup`.
    sleepers: usize,
    /// Pending async waiters: key, registration id, waker. The vector keeps its capacity, so
    /// once it has grown to the peak number of pending tasks, registering allocates nothing.
    tasks: Vec<(usize, u64, Waker)>,
    /// The next registration id in this bucket.
    next_id: u64,
}

/// An empty bucket.
macro_rules! empty_bucket {
    () => {
        Bucket {
            waiting: Mutex::new(Waiting {
                sleepers: 0,
                tasks: Vec::new(),
                next_id: 0,
            }),
            wakeup: Condvar::new(),
        }
    };
}

#[cfg(not(groupwait_loom))]
static TABLE: [Bucket; BUCKETS] = [const { empty_bucket!() }; BUCKETS];

// loom's locks are created inside each model execution, hence lazily.
#[cfg(groupwait_loom)]
loom::lazy_static! {
    static ref TABLE: [Bucket; BUCKETS] = std::array::from_fn(|_| empty_bucket!());
}

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
    let mut waiting = lock(&bucket.waiting);
    loop {
        // The re-check under the lock prevents the lost wakeup where the waker makes the
        // condition false and calls `unpark_all` between our last look at the state and our
        // sleep: `unpark_all` takes this lock after the change, so either we see the change
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

/// What [`register_waker`] found.
pub(crate) enum Registered {
    /// `should_sleep()` was false: released, nothing is stored.
    Released,
    /// The waker is stored under this id, to be woken by [`unpark_all`].
    Pending(u64),
}

/// Stores `waker` to be woken by [`unpark_all`] for `key`, unless `should_sleep()` is already
/// false. `id` is the id of an earlier registration of the same task (its waker is replaced).
pub(crate) fn register_waker(
    key: usize,
    should_sleep: impl Fn() -> bool,
    id: Option<u64>,
    waker: &Waker,
) -> Registered {
    let mut waiting = lock(&bucket(key).waiting);
    // The same re-check as in `park`, for the same lost wakeup: a release that lands after the
    // caller's last look is either seen here, or finds this waker stored when it takes the lock.
    if !should_sleep() {
        if let Some(id) = id {
            waiting.remove(key, id);
        }
        return Registered::Released;
    }
    if let Some(id) = id {
        if let Some(entry) = waiting.tasks.iter_mut().find(|e| e.0 == key && e.1 == id) {
            if !entry.2.will_wake(waker) {
                entry.2.clone_from(waker);
            }
            return Registered::Pending(id);
        }
    }
    let id = waiting.next_id;
    waiting.next_id += 1;
    waiting.tasks.push((key, id, waker.clone()));
    Registered::Pending(id)
}

/// Removes the waker stored by [`register_waker`] under `id`, if it is still there.
pub(crate) fn cancel_waker(key: usize, id: u64) {
    let removed = lock(&bucket(key).waiting).remove(key, id);
    // Dropped outside the lock: a waker's destructor is the executor's code.
    drop(removed);
}

impl Waiting {
    fn remove(&mut self, key: usize, id: u64) -> Option<Waker> {
        let index = self.tasks.iter().position(|e| e.0 == key && e.1 == id)?;
        Some(self.tasks.swap_remove(index).2)
    }
}

/// Wakes every thread parked on `key` (and any other key sharing its bucket) and every task
/// registered for `key`, each task once.
///
/// Call it after making the waiters' condition false. Makes no wake-up system call when no
/// thread sleeps in the bucket (the registered threads are all still spinning, or all waiters
/// are tasks); wakers are called outside the lock.
pub(crate) fn unpark_all(key: usize) {
    let bucket = bucket(key);
    let mut first = true;
    loop {
        let mut batch: [Option<Waker>; WAKE_BATCH] = [const { None }; WAKE_BATCH];
        let mut taken = 0;
        {
            let mut waiting = lock(&bucket.waiting);
            if first && waiting.sleepers > 0 {
                bucket.wakeup.notify_all();
                #[cfg(test)]
                lock(&NOTIFIED).push(key);
            }
            first = false;
            let mut i = 0;
            while i < waiting.tasks.len() && taken < WAKE_BATCH {
                if waiting.tasks[i].0 == key {
                    batch[taken] = Some(waiting.tasks.swap_remove(i).2);
                    taken += 1;
                } else {
                    i += 1;
                }
            }
        }
        for waker in batch.iter_mut().take(taken) {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        if taken < WAKE_BATCH {
            return;
        }
    }
}

/// The keys whose `unpark_all` made a wake-up call on a condvar: for tests that check that a
/// release with only async waiters makes none.
#[cfg(test)]
pub(crate) static NOTIFIED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Held by the unit tests that put threads to sleep, or that check that a release made no
/// wake-up call: with it, no other unit test's sleeper shares a bucket with theirs.
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

/// The number of task wakers stored for `key`: for tests that check nothing is left behind.
#[cfg(test)]
pub(crate) fn registered_wakers(key: usize) -> usize {
    lock(&bucket(key).waiting)
        .tasks
        .iter()
        .filter(|e| e.0 == key)
        .count()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wake-ups (shared with the `wait_async` tests).
    #[derive(Default)]
    pub(crate) struct Counting(pub(crate) AtomicUsize);
    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Two keys that share a bucket (and a third that does not share it with them).
    fn keys_sharing_a_bucket() -> (usize, usize) {
        let first = 0x1000_usize;
        let second = (1..)
            .map(|i| first + 8 * i)
            .find(|&k| std::ptr::eq(bucket(k), bucket(first)))
            .unwrap();
        (first, second)
    }

    #[test]
    fn a_release_wakes_only_its_own_tasks_in_a_shared_bucket_in_batches() {
        let (mine, other) = keys_sharing_a_bucket();
        let (my_waker, other_waker) =
            (Arc::new(Counting::default()), Arc::new(Counting::default()));
        let my_waker_handle = Waker::from(Arc::clone(&my_waker));
        let other_waker_handle = Waker::from(Arc::clone(&other_waker));
        // Interleaved, and more of mine than one batch holds.
        for i in 0..(2 * WAKE_BATCH + 3) {
            assert!(matches!(
                register_waker(mine, || true, None, &my_waker_handle),
                Registered::Pending(_)
            ));
            if i % 4 == 0 {
                register_waker(other, || true, None, &other_waker_handle);
            }
        }
        let others = registered_wakers(other);
        unpark_all(mine);
        assert_eq!(my_waker.0.load(Ordering::Relaxed), 2 * WAKE_BATCH + 3);
        assert_eq!(registered_wakers(mine), 0);
        assert_eq!(other_waker.0.load(Ordering::Relaxed), 0);
        assert_eq!(registered_wakers(other), others);
        unpark_all(other);
        assert_eq!(other_waker.0.load(Ordering::Relaxed), others);
        assert_eq!(registered_wakers(other), 0);
    }

    #[test]
    fn a_re_registration_replaces_the_waker_and_keeps_the_id() {
        let key = 0x2000_usize;
        let first = Arc::new(Counting::default());
        let second = Arc::new(Counting::default());
        let Registered::Pending(id) =
            register_waker(key, || true, None, &Waker::from(Arc::clone(&first)))
        else {
            panic!("should pend");
        };
        let again = register_waker(key, || true, Some(id), &Waker::from(Arc::clone(&second)));
        assert!(matches!(again, Registered::Pending(same) if same == id));
        assert_eq!(registered_wakers(key), 1);
        unpark_all(key);
        assert_eq!(first.0.load(Ordering::Relaxed), 0);
        assert_eq!(second.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_re_registration_replaces_only_its_own_entry() {
        let key = 0x5000_usize;
        let (first, second, renewed) = (
            Arc::new(Counting::default()),
            Arc::new(Counting::default()),
            Arc::new(Counting::default()),
        );
        // Another task of the same group registers first...
        register_waker(key, || true, None, &Waker::from(Arc::clone(&second)));
        let Registered::Pending(id) =
            register_waker(key, || true, None, &Waker::from(Arc::clone(&first)))
        else {
            panic!("should pend");
        };
        // ...then this one is polled again with a new waker.
        register_waker(key, || true, Some(id), &Waker::from(Arc::clone(&renewed)));
        unpark_all(key);
        assert_eq!(second.0.load(Ordering::Relaxed), 1);
        assert_eq!(renewed.0.load(Ordering::Relaxed), 1);
        assert_eq!(first.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_released_re_registration_removes_the_old_entry() {
        let key = 0x3000_usize;
        let waker = Waker::from(Arc::new(Counting::default()));
        let Registered::Pending(id) = register_waker(key, || true, None, &waker) else {
            panic!("should pend");
        };
        assert!(matches!(
            register_waker(key, || false, Some(id), &waker),
            Registered::Released
        ));
        assert_eq!(registered_wakers(key), 0);
        cancel_waker(key, id); // already gone: a no-op
        assert_eq!(registered_wakers(key), 0);
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
        // A sleep ended by `unpark_all`.
        let asleep = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|s| {
            let sleeper = s.spawn(|| park(key, || asleep.load(Ordering::Acquire), None));
            while sleepers(key) == 0 {
                std::thread::yield_now();
            }
            asleep.store(false, Ordering::Release);
            unpark_all(key);
            assert!(sleeper.join().unwrap());
        });
        assert_eq!(sleepers(key), 0);
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
