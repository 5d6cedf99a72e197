//! Model checking with loom of the drain waits and of the round's panic report (issue 10):
//! every interleaving, up to a preemption bound, of small programs on one `WaitGroup`.
//!
//! `#![cfg(groupwait_loom)]`, like `tests/loom.rs`, whose conventions it follows. Run with
//!
//! ```text
//! RUSTFLAGS="--cfg groupwait_loom" cargo test -p tests-integration --release --test loom_drain -- --test-threads=1 --nocapture
//! ```
//!
//! | model | program |
//! |---|---|
//! | d1 | `add(1)`; a worker writes a slot, `done`; main `wait_drained`s, reads the slot |
//! | d2 | d1, and the worker starts the next round at once (`add(1)`, `done`): the drain must return, and nobody hits Go's checks |
//! | d3 | `add(1)`; a registered `wait`er and a drain waiter, one `done` releases both |
//! | d4 | `add(1)`; a timed drain (gives up whenever it would sleep) then a drain, racing the `done` |
//! | d5 | `add(1)`; two drain waiters share the mark; one `done` releases both |
//! | d6 | `add(1)`, a `Drained` pends; a worker's `done` races a producer's `add(1)` and a second `Drained`: the first zero's wake-up must not complete the second (found by review: it did) |
//! | d7, d7b | `add(2)`, two workers write a slot each and `done`; an async (d7) or blocking (d7b) drain must see both writes (found by review: the async one completed through its ticket without an Acquire load of the word) |
//! | o1 | a guarded worker panics; main's `wait_outcome` gets the payload, a second one the report without it, and the next round's `add` clears it |
//!
//! What they check: a drain never returns before the work added before it is done (the
//! slot's write is visible, else loom reports a causality violation or the read fails), never
//! loses its wake-up (a lost one deadlocks the model, which loom reports), and leaves the
//! group idle.

#![cfg(groupwait_loom)]

mod loom_support;

use groupwait::WaitGroup;
use loom::sync::Arc;
use loom::thread;
use loom_support::{explore, spawn_worker, Slot, TIMEOUT};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// [`loom_support::assert_idle`], and no drain pending.
#[track_caller]
fn assert_idle(wg: &WaitGroup) {
    loom_support::assert_idle(wg);
    let text = format!("{wg:?}");
    assert!(!text.contains("draining"), "{text}");
}

#[test]
fn d1_a_drain_sees_the_work_added_before_it() {
    explore("d1 drain", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let worker = spawn_worker(&wg, &slot);
        wg.wait_drained();
        slot.read();
        worker.join().unwrap();
        assert_idle(&wg);
        "drained"
    });
}

#[test]
fn d2_the_next_round_starting_at_once_does_not_hold_the_drain() {
    explore("d2 drain, next round at once", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let worker = {
            let (wg, slot) = (Arc::clone(&wg), Arc::clone(&slot));
            thread::spawn(move || {
                slot.write();
                wg.done();
                wg.add(1); // a producer that never pauses: Go's checks must not fire
                wg.done();
            })
        };
        wg.wait_drained();
        slot.read();
        worker.join().unwrap();
        assert_idle(&wg);
        "drained"
    });
}

#[test]
fn d3_one_done_releases_a_waiter_and_a_drain_waiter() {
    explore("d3 waiter and drainer", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let waiter = {
            let (wg, slot) = (Arc::clone(&wg), Arc::clone(&slot));
            thread::spawn(move || {
                wg.wait();
                slot.read();
            })
        };
        let worker = spawn_worker(&wg, &slot);
        wg.wait_drained();
        slot.read();
        waiter.join().unwrap();
        worker.join().unwrap();
        assert_idle(&wg);
        "both released"
    });
}

#[test]
fn d4_a_timed_drain_that_gives_up_leaves_nothing_that_hurts() {
    let outcomes = explore("d4 timed drain", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let worker = spawn_worker(&wg, &slot);
        let outcome = if wg.wait_drained_timeout(TIMEOUT) {
            "drained in time"
        } else {
            wg.wait_drained();
            "gave up, then drained"
        };
        slot.read();
        worker.join().unwrap();
        assert_idle(&wg);
        outcome
    });
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
}

#[test]
fn d5_two_drain_waiters_share_the_mark() {
    explore("d5 two drainers", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let other = {
            let (wg, slot) = (Arc::clone(&wg), Arc::clone(&slot));
            thread::spawn(move || {
                wg.wait_drained();
                slot.read();
            })
        };
        let worker = spawn_worker(&wg, &slot);
        wg.wait_drained();
        slot.read();
        other.join().unwrap();
        worker.join().unwrap();
        assert_idle(&wg);
        "both drained"
    });
}

#[test]
fn o1_the_round_report_reaches_every_waiter_once_with_the_payload() {
    explore("o1 outcome", || {
        // Leaked: a `Guard` borrows its group, and loom threads are `'static`.
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let guard = wg.guard();
        let worker = thread::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(move || {
                let _guard = guard;
                std::panic::resume_unwind(Box::new("o1: the guarded task panics"));
            }));
            assert!(result.is_err());
        });
        let mut first = wg.wait_outcome().expect_err("the round had a panic");
        assert!(first.take_payload().is_some());
        let second = wg
            .wait_outcome()
            .expect_err("every waiter of the round is told");
        assert!(second.handed_elsewhere());
        worker.join().unwrap();
        wg.add(1);
        wg.done();
        assert_idle(wg);
        "told"
    });
}

/// a drain wake-up for a zero that happened *before* a later `Drained` marked must not
/// complete that later `Drained` (its counter has not been zero since its first poll).
#[test]
fn d6_an_earlier_zeros_wake_up_does_not_complete_a_later_drained() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};
    explore("d6", || {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let parker = std::sync::Arc::new(loom_support::Parker::new());
        let waker = Waker::from(std::sync::Arc::clone(&parker));
        let mut cx = Context::from_waker(&waker);
        let mut d1 = wg.wait_drained_async();
        assert!(Pin::new(&mut d1).poll(&mut cx).is_pending());
        let worker = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.done())
        };
        // A producer adds while the worker's `done` runs: from here on the counter is >= 1
        // until main's own `done` below, so no Drained made from here may complete before.
        wg.add(1);
        let mut d2 = wg.wait_drained_async();
        let first = Pin::new(&mut d2).poll(&mut cx);
        worker.join().unwrap();
        let second = Pin::new(&mut d2).poll(&mut cx);
        assert!(
            first.is_pending() && second.is_pending(),
            "early return: Drained ready ({first:?}, {second:?}) with count {} and no zero since its first poll",
            wg.count()
        );
        drop(d1);
        wg.done();
        loom_support::block_on(d2);
        assert_idle(&wg);
        "ok"
    });
}

/// an async drain completed through its ticket (no Acquire load of the word) must
/// still see the writes of every `done` of the drained work, not only the zeroing one's.
#[test]
fn d7_an_async_drain_sees_every_dones_writes() {
    explore("d7", || {
        let wg = Arc::new(WaitGroup::new());
        let (a, b) = (Arc::new(Slot::new()), Arc::new(Slot::new()));
        wg.add(2);
        let first = spawn_worker(&wg, &a);
        let second = spawn_worker(&wg, &b);
        loom_support::block_on(wg.wait_drained_async());
        a.read();
        b.read();
        first.join().unwrap();
        second.join().unwrap();
        "drained"
    });
}

/// The control for d7: the blocking drain, same program.
#[test]
fn d7b_a_blocking_drain_sees_every_dones_writes() {
    explore("d7b", || {
        let wg = Arc::new(WaitGroup::new());
        let (a, b) = (Arc::new(Slot::new()), Arc::new(Slot::new()));
        wg.add(2);
        let first = spawn_worker(&wg, &a);
        let second = spawn_worker(&wg, &b);
        wg.wait_drained();
        a.read();
        b.read();
        first.join().unwrap();
        second.join().unwrap();
        "drained"
    });
}
