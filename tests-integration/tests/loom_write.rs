//! Model checking with loom of the write-then-check `add` (issue 13): the states another
//! thread can see between an `add`'s `fetch_add` and what it does after looking at the value
//! it replaced (DESIGN.md, "Write, then check").
//!
//! `#![cfg(groupwait_loom)]`, like `tests/loom.rs`, whose conventions it follows. Run with
//!
//! ```text
//! RUSTFLAGS="--cfg groupwait_loom" cargo test -p tests-integration --release --test loom_write -- --test-threads=1 --nocapture
//! ```
//!
//! | model | transient | program |
//! |---|---|---|
//! | w1 | zero with the drain mark still set, producers' adds stacked on it | `add(1)`; main `wait_drained`s; a worker writes a slot and `done`s; two producers each `add(1)`, `done` |
//! | w2 | a round's first `add` written, the last round's delivered panic report not yet cleared | round 1's guard panics, main takes the payload; two threads `add(1)`, `done`; then main's `wait_outcome` |
//! | w3 | a refused overflowing `add`, wrapped to a negative counter before its undo | `add(i32::MAX)`; one thread `try_add(1)` (refused), another `done`s a unit (must succeed) |
//! | w4 | a `done` preempted between its zero's write and its release, whose retried release settles a later round's zero with a drain mark | round 1: `add(1)`, a `done`, main's timed wait gives up; round 2: `add(1)`, an async drain, main `wait`s, a second `done` |
//! | w5 | the drain mark's zero with the last round's delivered report: the first `add` undoes and writes again, a second `add` stacked on its write | round 0's guard panics (kept); round 1: `add(1)`, an async drain polled once, a `done`, main's `wait_outcome` takes the payload; round 2: two adds, then main's `wait_outcome` |
//!
//! Executions and times (release build, `--test-threads=1`, the project's shared 2-vCPU
//! machine, 2026-11-27): w1 233,380 in 27 s (the largest: four threads), w2 132 in 0.01 s, w3
//! 59 in < 0.01 s, w4 137,427 in 23 s, w5 7,399 in 1.3 s.
//!
//! w4 and w5 are review findings F1 and F2 (2026-11-27): each failed before its fix (w4 with
//! loom's `deadlock`, the drain never woken; w5 with `round 2 had no panic`, round 2 handed
//! round 0's report). Their drains are async on purpose. In w4, loom builds have a single
//! parking bucket, so the group key's `notify_all` at the release would also wake a *blocking*
//! drain sleeper and hide the missing wake-up of the drain key (which real builds need: there
//! the drain key is in another bucket); an async drain's waker is taken out only by a release
//! of the drain key itself. In w5, the async drain marks DRAINING from main with one poll,
//! without a thread of its own, which keeps the model inside the preemption bound. F2 through
//! the other back-off (a re-add after a refused `done`'s -1) is the unit test
//! `a_re_add_after_backing_off_a_refused_done_clears_a_delivered_report`: as a loom model its
//! back-off spins exceed loom's branch limit.
//!
//! The other transients are in `tests/loom.rs`: an `add` on a zero counter with registered
//! waiters (Go's AddDuringWait), whose undo must release them since the releaser gave up on
//! seeing its write, is model 5c; an extra `done` racing a legal round, 5a(ii); a refused
//! `done` on an idle group (counter -1 until its undo) racing a `wait`, which may register on
//! the -1 and must then be released by the undo's zero, 5a(i). A producer's `add` landing on the drain mark's zero with one
//! `add` (no stacking) is `tests/loom_drain.rs` d6 (not d2: there the next round's `add` is
//! made by the thread of the `done`, after that `done` settled its zero, so it never lands in
//! the window).
//!
//! What they check: no call of a correct thread fails or hangs (loom reports a deadlock),
//! a wait never returns before the work it waits for (the slot's write is visible), each
//! round's panic report is its own, and the group ends idle with no drain mark.

#![cfg(groupwait_loom)]

mod loom_support;

use groupwait::{Error, WaitGroup};
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use loom_support::{block_on, explore, spawn_worker, Slot, TIMEOUT};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Waker};

/// [`loom_support::assert_idle`], and no drain pending.
#[track_caller]
fn assert_idle(wg: &WaitGroup) {
    loom_support::assert_idle(wg);
    let text = format!("{wg:?}");
    assert!(!text.contains("draining"), "{text}");
}

/// A thread that adds one unit and finishes it.
fn spawn_producer(wg: &Arc<WaitGroup>) -> thread::JoinHandle<()> {
    let wg = Arc::clone(wg);
    thread::spawn(move || {
        wg.add(1);
        wg.done();
    })
}

/// w1: the worker's `done` writes a zero with the drain mark set and must then clear the mark
/// by a compare-exchange that requires the counter still zero; producers' `add`s may land in
/// between, and the second may land on the first before its undo. The drain must neither
/// return before the worker's write nor stay asleep: here every producer finishes, so there is
/// always a later zero that releases it (the liveness property DESIGN.md states).
#[test]
fn w1_producers_stack_on_the_drain_marks_zero() {
    explore("w1 drain mark's zero with stacked adds", || {
        let wg = Arc::new(WaitGroup::new());
        let slot = Arc::new(Slot::new());
        wg.add(1);
        let worker = spawn_worker(&wg, &slot);
        let producers = [spawn_producer(&wg), spawn_producer(&wg)];
        wg.wait_drained();
        slot.read();
        worker.join().unwrap();
        for p in producers {
            p.join().unwrap();
        }
        assert_idle(&wg);
        "drained"
    });
}

/// w2: round 2's first `add` writes its unit onto `(0, PANICKED)` and clears the delivered
/// report only afterwards, under the report's lock; a second `add` may stack on it before that
/// clear. Whatever the order, the clear must happen: round 2 had no panic, and its waiter must
/// not get round 1's report. (A waiter racing the adds would be Go's misuse: the two adds may
/// make two rounds.)
///
/// (A round-2 task that panics inside that window is the unit test
/// `a_rounds_panic_before_its_first_add_clears_the_last_report_is_kept`: loom threads share
/// their OS thread's panic count, so a model thread that unwinds while another holds a lock
/// poisons that lock inside loom, and a panicking task cannot race the clear here.)
#[test]
fn w2_the_next_rounds_add_clears_a_delivered_report_after_its_write() {
    explore("w2 delivered report, next round's adds", || {
        // Leaked: a `Guard` borrows its group, and loom threads are `'static`.
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        let guard = wg.guard();
        thread::spawn(move || {
            let _ = catch_unwind(AssertUnwindSafe(move || {
                let _guard = guard;
                std::panic::resume_unwind(Box::new("w2: round 1"));
            }));
        })
        .join()
        .unwrap();
        let mut first = wg.wait_outcome().expect_err("round 1 panicked");
        assert!(first.take_payload().is_some());
        let adders: Vec<_> = (0..2)
            .map(|_| {
                thread::spawn(move || {
                    wg.add(1);
                    wg.done();
                })
            })
            .collect();
        for a in adders {
            a.join().unwrap();
        }
        assert_eq!(wg.wait_outcome().ok(), Some(()), "round 2 had no panic");
        assert_idle(wg);
        "cleared"
    });
}

/// w3: a refused overflowing `add` makes the counter wrap negative until its undo; a
/// correct `done` landing on that value must back off and succeed, never be refused.
#[test]
fn w3_a_correct_done_is_not_failed_by_an_overflow_being_undone() {
    explore("w3 overflow transient", || {
        let wg = Arc::new(WaitGroup::new());
        wg.add(i32::MAX as isize);
        let misuse = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.try_add(1))
        };
        let correct = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.try_add(-1))
        };
        assert_eq!(correct.join().unwrap(), Ok(()));
        let refused = misuse.join().unwrap();
        // Refused unless it came after the `done` (then the counter had room).
        let expected = i32::MAX as usize - usize::from(refused.is_err());
        assert_eq!(wg.count(), expected);
        wg.add(-(expected as isize));
        assert_idle(&wg);
        match refused {
            Err(Error::CounterOverflow { delta: 1 }) => "refused",
            Ok(()) => "fitted after the done",
            Err(e) => panic!("unexpected {e:?}"),
        }
    });
}

/// w4: a `done` that wrote the zero of round 1 (one registered waiter) is preempted before its
/// release; round 1's timed wait gives up meanwhile (its deregistration leaves the group idle),
/// and round 2 begins: `add(1)`, a drain waiter marks DRAINING, main registers, round 2's
/// `done` writes the zero `(0, 1 waiter, DRAINING)`. Round 1's `done` then resumes: its
/// release compare-exchange fails on its stale word, retries with the fresh one (a zero counter
/// with waiters may be released by anyone) and succeeds, which clears DRAINING too. The wake of
/// the drain key must follow the word that release actually replaced, not the stale word the
/// caller wrote (found by review, finding F1: round 2's `done`, its release done for it, sees
/// no mark left and wakes nobody, and the drain sleeps forever).
///
/// The drain is async (`wait_drained_async`, driven by `block_on`) because loom builds use a
/// single parking bucket: a blocking drain sleeper would be woken by the group key's
/// `notify_all` too, hiding the missing drain-key wake-up that real builds (64 buckets, the
/// drain key in another bucket than the group's) depend on. An async drain's waker is woken
/// only by a release of the drain key itself.
#[test]
fn w4_a_stale_release_that_clears_the_drain_mark_wakes_the_drain() {
    explore("w4 stale release clears the drain mark", || {
        let wg = Arc::new(WaitGroup::new());
        // Round 1: a timed waiter that gives up (under loom, whenever it would sleep).
        wg.add(1);
        let first_done = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.done())
        };
        let _ = wg.wait_timeout(TIMEOUT);
        // Round 2, after round 1's only wait returned: a drain waiter, main's wait, a `done`.
        wg.add(1);
        let drain = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || block_on(wg.wait_drained_async()))
        };
        let second_done = {
            let wg = Arc::clone(&wg);
            thread::spawn(move || wg.done())
        };
        wg.wait();
        drain.join().unwrap();
        second_done.join().unwrap();
        first_done.join().unwrap();
        assert_idle(&wg);
        "drained"
    });
}

/// w5: round 0's panic report is kept (nobody waits); round 1 has an async drain waiter
/// (DRAINING) and its `wait_outcome` takes round 0's payload (delivered). Round 2's two adds
/// race: the first lands on `(0, PANICKED delivered, DRAINING)` (round 1's `done` wrote the
/// zero and has not cleared the mark), undoes and adds again; the second stacks on its first
/// write, so that re-add finds a positive counter. Whoever started round 2 must still clear
/// the delivered report: round 2 had no panic (found by review, finding F2: the re-add
/// returned through `settled_by_the_write` without clearing, and round 2's waiter got round
/// 0's report). The hand-offs are yields (free switches for loom) so that the interleaving
/// fits the preemption bound; the drain is async so that it can mark DRAINING from main
/// without a thread (it is never completed, only dropped).
#[test]
fn w5_a_re_add_after_the_drain_marks_zero_still_clears_a_delivered_report() {
    explore("w5 re-add clears a delivered report", || {
        let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
        // Hand-off flags (SeqCst: a loom atomic; they only steer the schedule, the group's
        // own orderings are what the model checks).
        let go: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let finish: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        // Round 0: a guarded task panics; nobody waits, so the payload stays.
        let guard = wg.guard();
        thread::spawn(move || {
            let _ = catch_unwind(AssertUnwindSafe(move || {
                let _guard = guard;
                std::panic::resume_unwind(Box::new("w5: round 0"));
            }));
        })
        .join()
        .unwrap();
        // Round 1: a drain mark; its waiter gets round 0's untaken payload.
        wg.add(1);
        let mut drained = pin!(wg.wait_drained_async());
        let _ = drained
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
        let worker = thread::spawn(move || wg.done());
        while wg.count() != 0 {
            thread::yield_now();
        }
        let mut first = wg.wait_outcome().expect_err("round 0's report");
        assert!(first.take_payload().is_some());
        // Round 2, after round 1's wait returned: two concurrent adds.
        let other = thread::spawn(move || {
            while !go.load(SeqCst) {
                thread::yield_now();
            }
            wg.add(1);
            while !finish.load(SeqCst) {
                thread::yield_now();
            }
            wg.done();
        });
        go.store(true, SeqCst);
        wg.add(1);
        finish.store(true, SeqCst);
        wg.done();
        other.join().unwrap();
        worker.join().unwrap();
        assert_eq!(wg.wait_outcome().ok(), Some(()), "round 2 had no panic");
        assert_idle(wg);
        "cleared"
    });
}
