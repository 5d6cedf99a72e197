//! `add`, `done`, `wait` and the timed waits never allocate, not even when they sleep.
//!
//! A counting global allocator counts, per thread, every allocation; each scenario checks the
//! count on the thread that runs the group's operations.

// A global allocator cannot be written without `unsafe`; the library itself forbids it.
#![allow(unsafe_code)]

mod support;

use groupwait::WaitGroup;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::time::Duration;
use support::{this_thread_state, wait_for_sleeping_waiter, PATIENCE};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` unchanged; the thread-local counter has a `const`
// initializer and no destructor, so counting allocates nothing and cannot recurse.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator, under the same contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator, under the same contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn add_done_and_wait_on_zero_do_not_allocate() {
    let wg = WaitGroup::new();
    let n = allocations_during(|| {
        for _ in 0..1000 {
            wg.add(3);
            wg.done();
            let _ = wg.try_add(-2);
            wg.wait();
            assert!(wg.wait_timeout(Duration::ZERO));
            drop(wg.guard());
        }
    });
    assert_eq!(n, 0);
}

/// Calls `done` on `wg` once the waiter whose state file is `me` sleeps on it.
#[track_caller]
fn done_once_asleep(wg: &WaitGroup, me: Option<&Path>) {
    wait_for_sleeping_waiter(wg, me);
    wg.done();
}

#[test]
fn a_wait_that_really_sleeps_does_not_allocate() {
    let wg = WaitGroup::new();
    wg.add(1);
    let me = this_thread_state();
    std::thread::scope(|s| {
        s.spawn(|| done_once_asleep(&wg, me.as_deref()));
        assert_eq!(allocations_during(|| wg.wait()), 0);
    });
}

#[test]
fn a_timed_wait_that_sleeps_and_times_out_does_not_allocate() {
    let wg = WaitGroup::new();
    wg.add(1);
    let n = allocations_during(|| {
        assert!(!wg.wait_timeout(Duration::from_millis(20)));
    });
    assert_eq!(n, 0);
    wg.done();
}

#[test]
fn a_timed_wait_woken_by_done_does_not_allocate() {
    let wg = WaitGroup::new();
    wg.add(1);
    let me = this_thread_state();
    std::thread::scope(|s| {
        s.spawn(|| done_once_asleep(&wg, me.as_deref()));
        let n = allocations_during(|| assert!(wg.wait_timeout(PATIENCE)));
        assert_eq!(n, 0);
    });
}

#[test]
fn the_releasing_done_does_not_allocate() {
    let wg = WaitGroup::new();
    wg.add(1);
    let waiter_state = std::sync::OnceLock::new();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            waiter_state.get_or_init(this_thread_state);
            wg.wait_timeout(PATIENCE)
        });
        support::wait_until("the waiter's state file", || waiter_state.get().is_some());
        wait_for_sleeping_waiter(&wg, waiter_state.get().unwrap().as_deref());
        assert_eq!(allocations_during(|| wg.done()), 0);
        assert!(waiter.join().unwrap());
    });
}

#[test]
fn the_counter_catches_allocations() {
    // The instrument itself works: a real allocation is counted.
    let n = allocations_during(|| drop(std::hint::black_box(Box::new(7_u64))));
    assert_eq!(n, 1);
}

mod async_waiters {
    use super::allocations_during;
    use groupwait::WaitGroup;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn wait_async_on_zero_does_not_allocate() {
        let wg = WaitGroup::new();
        let waker = Waker::from(Arc::new(Noop));
        let n = allocations_during(|| {
            let mut fut = wg.wait_async();
            assert!(Pin::new(&mut fut)
                .poll(&mut Context::from_waker(&waker))
                .is_ready());
        });
        assert_eq!(n, 0);
    }

    /// Held by the tests that leave async waiters pending: the table's inline storage for a
    /// bucket is then theirs alone (no other test of this binary registers a task).
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// One round on `wg`: `N` `wait_async` futures pend (registered in the table), one `done`
    /// releases them, each completes. Returns the allocations the round made.
    fn round<const N: usize>(wg: &WaitGroup, waker: &Waker) -> usize {
        allocations_during(|| {
            wg.add(1);
            let mut futures: [_; N] = std::array::from_fn(|_| wg.wait_async());
            for f in futures.iter_mut() {
                assert!(Pin::new(f)
                    .poll(&mut Context::from_waker(waker))
                    .is_pending());
            }
            wg.done();
            for f in futures.iter_mut() {
                assert!(Pin::new(f).poll(&mut Context::from_waker(waker)).is_ready());
            }
        })
    }

    #[test]
    fn up_to_four_pending_wait_async_futures_allocate_nothing_even_the_first_time() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let wg = WaitGroup::new();
        let waker = Waker::from(Arc::new(Noop));
        // The first round too: a bucket holds its first four waiters inline.
        assert_eq!(round::<1>(&wg, &waker), 0);
        assert_eq!(round::<4>(&wg, &waker), 0);
        // Two groups, two waiters each (their lists are inline too).
        let other = WaitGroup::new();
        let n = allocations_during(|| {
            wg.add(1);
            other.add(1);
            let mut futures = [wg.wait_async(), other.wait_async(), wg.wait_async()];
            for f in futures.iter_mut() {
                assert!(Pin::new(f)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
            }
            wg.done();
            other.done();
            for f in futures.iter_mut() {
                assert!(Pin::new(f)
                    .poll(&mut Context::from_waker(&waker))
                    .is_ready());
            }
        });
        assert_eq!(n, 0);
    }

    #[test]
    fn more_pending_wait_async_futures_allocate_once_and_not_in_steady_state() {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let wg = WaitGroup::new();
        let waker = Waker::from(Arc::new(Noop));
        // The first round may grow the table's storage past the inline slots: the slot vector
        // (grown twice) and one block of tickets.
        let first = round::<12>(&wg, &waker);
        assert!(first <= 4, "{first} allocations for 12 pending waits");
        // Then the storage is reused.
        for _ in 0..10 {
            assert_eq!(round::<12>(&wg, &waker), 0);
        }
    }
}
