//! Panicking tasks: never a deadlock, never silently lost.

mod support;

use groupwait::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::panic_message;

#[test]
fn wait_reraises_the_payload_of_a_panicking_go_task() {
    let wg = Arc::new(WaitGroup::new());
    let handle = wg.go(|| std::panic::panic_any(42_u32));
    let caught = catch_unwind(AssertUnwindSafe(|| wg.wait())).unwrap_err();
    assert_eq!(caught.downcast_ref::<u32>(), Some(&42));
    // The panic was caught inside the task, and its payload delivered once; the round's
    // report stays for its other waiters until the next round's `add`, which starts clean.
    handle.join().unwrap();
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: true }"
    );
    wg.go(|| {}).join().unwrap();
    wg.wait();
}

#[test]
fn wait_reraises_only_after_every_task_finished() {
    let wg = WaitGroup::new();
    let finished = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let failing = wg.go_scoped(s, || panic!("first task failed"));
        for _ in 0..3 {
            wg.go_scoped(s, || {
                // Finish only once the panic is recorded (its task's `done` ran) and the
                // waiter is waiting: a `wait` that re-raised at once would find them running.
                support::wait_until("the panicking task's `done` and a waiter", || {
                    wg.count() <= 3 && support::waiters(&wg) == 1
                });
                finished.fetch_add(1, Ordering::Relaxed);
            });
        }
        let caught = catch_unwind(AssertUnwindSafe(|| wg.wait())).unwrap_err();
        assert_eq!(panic_message(&*caught), "first task failed");
        // Read before the scope joins the threads: only `wait` made the tasks finish first.
        assert_eq!(finished.load(Ordering::Relaxed), 3);
        // Joined, the failed thread shows its failure and the scope does not re-raise it.
        assert!(failing.join().is_err());
    });
}

#[test]
fn dropping_a_group_nobody_waited_on_drops_the_panic_payload() {
    /// A payload that reports its drop.
    struct Payload(Arc<AtomicBool>);
    impl Drop for Payload {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let wg = WaitGroup::new();
    let payload = Payload(Arc::clone(&dropped));
    std::thread::scope(|s| {
        // Joined, so the scope does not re-raise the failure (nobody waits on the group).
        let failing = wg.go_scoped(s, move || std::panic::panic_any(payload));
        assert!(failing.join().is_err());
    });
    // Counter, waiters and generation zero, a payload pending: nobody waited.
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: true }"
    );
    assert!(!dropped.load(Ordering::Relaxed));
    drop(wg);
    assert!(
        dropped.load(Ordering::Relaxed),
        "the unclaimed payload outlived its group"
    );
}

#[test]
fn the_first_panic_is_kept_and_later_ones_dropped() {
    let wg = WaitGroup::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || panic!("one")).join().unwrap_err();
            wg.go_scoped(s, || panic!("two")).join().unwrap_err();
            wg.wait();
        })
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*caught), "one");
    // Delivered once; the round's other waiters get the report, which counts both.
    let report = wg.wait_outcome().unwrap_err();
    assert!(report.handed_elsewhere());
    assert_eq!(report.count(), 2);
}

#[test]
fn every_waiter_panics_and_exactly_one_receives_the_payload() {
    let wg = Arc::new(WaitGroup::new());
    let gate = Arc::new(WaitGroup::new());
    gate.add(1);
    let g = Arc::clone(&gate);
    wg.go(move || {
        g.wait();
        panic!("boom");
    });
    let outcomes: Vec<_> = (0..4)
        .map(|_| {
            let wg = Arc::clone(&wg);
            std::thread::spawn(move || {
                panic_message(&*catch_unwind(AssertUnwindSafe(|| wg.wait())).unwrap_err())
            })
        })
        .collect();
    gate.done();
    let messages: Vec<String> = outcomes.into_iter().map(|h| h.join().unwrap()).collect();
    // No new round begins, so every waiter belongs to the round that panicked.
    assert_eq!(messages.iter().filter(|m| *m == "boom").count(), 1);
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("handed to another waiter"))
            .count(),
        3
    );
}

#[test]
fn timed_waits_report_the_panic_too() {
    let wg = Arc::new(WaitGroup::new());
    wg.go(|| panic!("timed")).join().unwrap();
    let caught =
        catch_unwind(AssertUnwindSafe(|| wg.wait_timeout(Duration::from_secs(1)))).unwrap_err();
    assert_eq!(panic_message(&*caught), "timed");
    assert!(wg
        .wait_timeout_outcome(Duration::ZERO)
        .unwrap_err()
        .handed_elsewhere());
}

#[test]
fn a_panic_under_a_guard_calls_done_and_the_waiter_panics_too() {
    let wg = WaitGroup::new();
    std::thread::scope(|s| {
        let guard = wg.guard();
        let worker = s.spawn(move || {
            let _guard = guard;
            panic!("worker failed");
        });
        let caught = catch_unwind(AssertUnwindSafe(|| wg.wait())).unwrap_err();
        assert!(panic_message(&*caught).contains("guard panicked"));
        // The worker's own payload stays with its thread.
        assert_eq!(panic_message(&*worker.join().unwrap_err()), "worker failed");
    });
    assert_eq!(wg.count(), 0);
    drop(wg.guard()); // the next round starts clean
    wg.wait();
}

#[test]
fn an_unclaimed_panic_waits_for_the_next_wait_even_in_a_later_round() {
    let wg = WaitGroup::new();
    // (The scope itself fails: its thread did, and nothing here waited.)
    catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || panic!("round one"));
        })
    }))
    .unwrap_err();
    // Nobody waited in round one; round two's waiter receives it (and round two's own panic
    // is dropped, as any later panic while one is pending).
    let caught = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || panic!("round two"));
            wg.wait();
        })
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*caught), "round one");
    assert_eq!(wg.wait_outcome().unwrap_err().count(), 2);
}
