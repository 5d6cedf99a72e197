//! Model checking the task group's admission, limit and cancellation paths with loom.
//!
//! `#![cfg(groupwait_loom)]`: a plain `cargo test` compiles this to nothing. Run it with
//!
//! ```text
//! RUSTFLAGS="--cfg groupwait_loom" cargo test -p groupwait --release --test loom_task_group -- --test-threads=1 --nocapture
//! ```
//!
//! Under that cfg the limit's and the token's `Mutex`/`Condvar` and atomics, and the
//! `WaitGroup` underneath, come from loom. Threads here are loom threads; tasks are the
//! future form (`track`, `track_async`), driven by `loom::future::block_on`, except in models
//! 10 and 15, where `spawn` runs tasks on the task pool, whose workers are loom threads under the cfg. Each model runs under
//! `preemption_bound = Some(3)`, explored to the end, prints its number of executions and the
//! outcomes it saw, and asserts that every outcome it names was reached. Any hang (a lost
//! wake-up) is reported by loom as a deadlock.
//!
//! | model | program | executions | time |
//! |---|---|---|---|
//! | 1 | limit 1, slot held by task 0; a thread `track`s task 1 (blocks for the slot) while another `cancel`s and main runs task 0 | see `--nocapture` | |
//! | 1b | conc #88: as 1, but task 0 runs only after the adder returned: only the cancel can wake it | | |
//! | 6b | 1b with the adder awaiting `track_async` | | |
//! | 2 | limit 1, slot held by task 0; a thread awaits `track_async` (pending on the slot) while main runs task 0 to completion | | |
//! | 3 | limit 1; task 0 fails, cancelling the group, while a thread is blocked adding task 1 | | |
//! | 4 | `cancelled().await` on one thread, `cancel` on another | | |
//! | 5 | a task's value, written on one thread, read by the group's `wait` on another | | |
//! | 6 | model 1 with the adder awaiting `track_async` | | |
//! | 7 | two futures await the slot; one is dropped while pending as task 0 gives the slot back | | |
//! | 8 | FIFO: two futures in line (A, B); task 0 ends (hands the slot to A) while A is dropped: B runs | | |
//! | 9 | task 0 adds a child with `track_async` at limit 1: the child is queued, run while task 0 ends | | |
//! | 10 | the task pool: a `spawn`ed task ends, its worker parks and times out while a second `spawn` hands it a job: the job runs (issue 21) | | |
//! | 11 | a running task adds a child (polled inline) while the wait begins: never refused, the wait returns both values | | |
//! | 12 | an outside `try_track` races the wait while the only task ends: refused `Closed` and absent, or admitted and in the values | | |
//! | 13 | two tasks end at once after the close: one opens the gate, the wait returns both values and sees both tasks' writes | | |
//! | 13b | 13 with both tasks failing: the error returned is the one that cancelled the group | | |
//! | 14 | a snapshot (`pending`) on a thread races a named task's admission: listed with its name or not at all | | |
//! | 14b | a snapshot races an admission into a cancelled group: the task, recorded `Cancelled` at once, is never listed | | |
//! | 15 | a pool task blocks at a gate another thread opens while main waits on its group: main's wait is not taken for one from inside the task | | |
//!
//! (The table's numbers are in DESIGN.md, "Task groups", measured on the project machine.)

#![cfg(groupwait_loom)]

mod loom_support;

use groupwait::task_group::{Cause, TaskError, TaskGroup, TrySpawnError};
use loom::sync::Arc;
use loom::thread;
use loom_support::{block_on, explore};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// A one-shot gate on loom's `Mutex` + `Condvar`.
#[derive(Default)]
struct Gate {
    open: loom::sync::Mutex<bool>,
    opened: loom::sync::Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn pass(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// Starts a thread that cancels `group`.
fn spawn_canceller(group: &Arc<TaskGroup<u8, ()>>) -> thread::JoinHandle<()> {
    let group = Arc::clone(group);
    thread::spawn(move || {
        group.cancel();
    })
}

/// Starts a thread that runs `task0` (the slot's holder) once `added` is open.
fn spawn_holder(
    task0: impl Future<Output = ()> + Send + 'static,
    added: &Arc<Gate>,
) -> thread::JoinHandle<()> {
    let added = Arc::clone(added);
    thread::spawn(move || {
        added.pass();
        block_on(task0);
    })
}

#[track_caller]
fn assert_reached(outcomes: &BTreeMap<&'static str, usize>, expected: &[&str]) {
    for label in expected {
        assert!(
            outcomes.contains_key(label),
            "outcome {label:?} never reached: {outcomes:?}"
        );
    }
}

/// Model 1: a cancel racing an add blocked on the limit. The adder always returns (the
/// cancel wakes it, or task 0 finishes and gives it the slot); task 1 either ran or is
/// reported cancelled; nothing hangs.
#[test]
fn m1_cancel_races_a_blocked_add() {
    let outcomes = explore("1 cancel races a blocked add", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let task0 = group.track(async { Ok(0) });
        let adder = {
            let group = Arc::clone(&group);
            thread::spawn(move || block_on(group.track(async { Ok(1) })))
        };
        let canceller = spawn_canceller(&group);
        block_on(task0);
        adder.join().unwrap();
        canceller.join().unwrap();
        let all = group.wait_all();
        assert_eq!(group.token().cause(), Some(Cause::Explicit));
        match all[..] {
            [Ok(0), Ok(1)] => "both ran",
            [Ok(0), Err(TaskError::Cancelled)] => "task 1 cancelled",
            [Err(TaskError::Cancelled), Err(TaskError::Cancelled)] => "both cancelled",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(
        &outcomes,
        &["both ran", "task 1 cancelled", "both cancelled"],
    );
}

/// Model 1b: conc #88 exactly: the slot's holder cannot finish before the blocked adder has
/// returned, so only the cancellation can wake the adder (no slot is ever given back to it).
#[test]
fn m1b_cancel_is_the_only_way_out_of_a_blocked_add() {
    let outcomes = explore("1b cancel is the only way out of a blocked add", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let added = Arc::new(Gate::default());
        let holder = spawn_holder(group.track(async { Ok(0) }), &added);
        let canceller = spawn_canceller(&group);
        let task1 = group.track(async { Ok(1) }); // blocks until the cancel
        added.open();
        block_on(task1);
        holder.join().unwrap();
        canceller.join().unwrap();
        let all = group.wait_all();
        match all[..] {
            [Err(TaskError::Cancelled), Err(TaskError::Cancelled)] => "both cancelled",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(&outcomes, &["both cancelled"]);
}

/// Model 6b: model 1b with the adder awaiting `track_async`: the cancel must wake the future.
#[test]
fn m6b_cancel_is_the_only_way_out_of_an_awaited_slot() {
    let outcomes = explore("6b cancel is the only way out of an awaited slot", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let added = Arc::new(Gate::default());
        let holder = spawn_holder(group.track(async { Ok(0) }), &added);
        let canceller = spawn_canceller(&group);
        let task1 = block_on(group.track_async(async { Ok(1) }));
        added.open();
        block_on(task1);
        holder.join().unwrap();
        canceller.join().unwrap();
        let all = group.wait_all();
        match all[..] {
            [Err(TaskError::Cancelled), Err(TaskError::Cancelled)] => "both cancelled",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(&outcomes, &["both cancelled"]);
}

/// Model 2: the last running task finishes while another task awaits a slot asynchronously:
/// the slot's release must wake the waiting future.
#[test]
fn m2_last_task_finishes_while_a_slot_is_awaited() {
    let outcomes = explore("2 last task finishes while a slot is awaited", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let task0 = group.track(async { Ok(0) });
        let waiter = {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                block_on(async { group.track_async(async { Ok(1) }).await.await })
            })
        };
        block_on(task0);
        waiter.join().unwrap();
        assert_eq!(group.wait(), Ok(vec![0, 1]));
        assert!(!group.is_cancelled());
        "both ran"
    });
    assert_reached(&outcomes, &["both ran"]);
}

/// Model 3: conc #88. Task 0 fails while a thread is blocked adding task 1 at the limit: the
/// error cancels the group, which wakes the adder (or the freed slot does).
#[test]
fn m3_first_error_wakes_a_blocked_adder() {
    let outcomes = explore("3 first error wakes a blocked adder", || {
        let group = Arc::new(TaskGroup::<u8, &str>::with_limit(1));
        let task0 = group.track(async { Err("fails") });
        let adder = {
            let group = Arc::clone(&group);
            thread::spawn(move || block_on(group.track(async { Ok(1) })))
        };
        block_on(task0);
        adder.join().unwrap();
        let all = group.wait_all();
        assert_eq!(group.token().cause(), Some(Cause::Failed { task: 0 }));
        match all[..] {
            [Err(TaskError::Failed("fails")), Err(TaskError::Cancelled)] => "task 1 cancelled",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(&outcomes, &["task 1 cancelled"]);
}

/// Model 4: awaiting the token on one thread while another cancels it: no lost wake-up, and
/// the cause is visible to the woken waiter.
#[test]
fn m4_cancelled_future_races_cancel() {
    let outcomes = explore("4 cancelled() races cancel", || {
        let group = TaskGroup::<(), ()>::new();
        let token = group.token();
        let waiter = thread::spawn(move || {
            block_on(token.cancelled());
            token.cause()
        });
        group.cancel();
        assert_eq!(waiter.join().unwrap(), Some(Cause::Explicit));
        "woken"
    });
    assert_reached(&outcomes, &["woken"]);
}

/// Model 5: a value produced by a task on one thread is what `wait` returns on another, and
/// the group's state is consistent when the wait returns.
#[test]
fn m5_value_crosses_to_the_waiter() {
    let outcomes = explore("5 value crosses to the waiter", || {
        let group = Arc::new(TaskGroup::<Vec<u8>, ()>::new());
        let task = group.track(async { Ok(vec![1, 2, 3]) });
        let runner = thread::spawn(move || block_on(task));
        assert_eq!(group.wait(), Ok(vec![vec![1, 2, 3]]));
        assert_eq!(group.running(), 0);
        runner.join().unwrap();
        "value seen"
    });
    assert_reached(&outcomes, &["value seen"]);
}

/// Model 6: the async form of model 1: a cancel racing a future awaiting a slot.
#[test]
fn m6_cancel_races_an_awaited_slot() {
    let outcomes = explore("6 cancel races an awaited slot", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let task0 = group.track(async { Ok(0) });
        let waiter = {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                block_on(async { group.track_async(async { Ok(1) }).await.await })
            })
        };
        let canceller = spawn_canceller(&group);
        block_on(task0);
        waiter.join().unwrap();
        canceller.join().unwrap();
        let all = group.wait_all();
        match all[..] {
            [Err(TaskError::Cancelled), Err(TaskError::Cancelled)] => "both cancelled",
            [Ok(0), Err(TaskError::Cancelled)] => "task 1 cancelled",
            [Ok(0), Ok(1)] => "both ran",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(
        &outcomes,
        &["both cancelled", "task 1 cancelled", "both ran"],
    );
}

/// Model 7: cancel safety of `track_async`: a future pending on the slot is dropped while the
/// slot is released; the other future awaiting a slot must still be woken and admitted.
#[test]
fn m7_dropped_slot_waiter_does_not_swallow_the_wake_up() {
    let outcomes = explore("7 dropped slot waiter does not swallow the wake-up", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let task0 = group.track(async { Ok(0) });
        let dropper = {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                let mut admit = pin!(group.track_async(async { Ok(9) }));
                let waker = Waker::noop();
                match admit.as_mut().poll(&mut Context::from_waker(waker)) {
                    Poll::Pending => "dropped while pending",
                    Poll::Ready(task) => {
                        block_on(task); // got the slot: run it (outcome 9)
                        "dropper ran"
                    }
                }
            })
        };
        let waiter = {
            let group = Arc::clone(&group);
            thread::spawn(move || {
                block_on(async { group.track_async(async { Ok(1) }).await.await })
            })
        };
        block_on(task0);
        let dropped = dropper.join().unwrap();
        waiter.join().unwrap();
        let values = group.wait().unwrap();
        assert!(values.contains(&1), "{values:?}");
        dropped
    });
    assert_reached(&outcomes, &["dropped while pending"]);
}

/// Model 8: the FIFO hand-off with a cancelled waiter (issue 20, item 4). Limit 1, the slot
/// held by task 0; two futures are in line for it (A first, then B). Task 0 finishes on one
/// thread (its release hands the slot to A and wakes A only) while another thread drops A
/// (before or after the hand-off). B must get the slot either way: from the release directly
/// when A left the line first, or from A's drop, which hands a slot it was given on.
#[test]
fn m8_a_slot_handed_to_a_cancelled_waiter_goes_on_to_the_next() {
    let outcomes = explore("8 FIFO hand-off with a cancelled waiter", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let task0 = group.track(async { Ok(0) });
        let mut a = Box::pin(group.track_async(async { Ok(1) }));
        let mut b = Box::pin(group.track_async(async { Ok(2) }));
        let noop = Waker::noop();
        assert!(a.as_mut().poll(&mut Context::from_waker(noop)).is_pending());
        assert!(b.as_mut().poll(&mut Context::from_waker(noop)).is_pending());
        let finisher = thread::spawn(move || block_on(task0));
        let canceller = thread::spawn(move || drop(a));
        // B is woken by whichever of the two hands it the slot.
        block_on(async move { b.await.await });
        finisher.join().unwrap();
        canceller.join().unwrap();
        assert_eq!(group.wait(), Ok(vec![0, 2]));
        "B ran"
    });
    assert_reached(&outcomes, &["B ran"]);
}

/// Model 9: the queued child (issue 20, item 3). Limit 1; task 0 (a future, holding the only
/// slot) adds a child with `track_async`: the child is admitted at once and queued, so task 0
/// goes on; the child, run on the main thread as soon as it exists, races task 0's end: it
/// waits in line until that end hands it the slot, or takes the slot at once if task 0 already
/// ended. Nothing hangs, both run.
#[test]
fn m9_a_child_added_by_its_groups_own_task_at_the_limit_is_queued() {
    type Child = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;
    let outcomes = explore("9 a task's child queued at the limit", || {
        let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
        let stash: Arc<loom::sync::Mutex<Option<Child>>> = Arc::default();
        let added = Arc::new(Gate::default());
        let task0 = {
            let (inner, stash, added) =
                (Arc::clone(&group), Arc::clone(&stash), Arc::clone(&added));
            group.track(async move {
                let queued = inner.track_async(async { Ok(1) }).await;
                *stash.lock().unwrap() = Some(Box::pin(queued));
                added.open();
                Ok(0)
            })
        };
        let parent = thread::spawn(move || block_on(task0));
        added.pass();
        let child = stash
            .lock()
            .unwrap()
            .take()
            .expect("the child was admitted");
        block_on(child);
        parent.join().unwrap();
        let all = group.wait_all();
        match all[..] {
            [Ok(0), Ok(1)] => "both ran",
            _ => panic!("unexpected outcomes {all:?}"),
        }
    });
    assert_reached(&outcomes, &["both ran"]);
}

/// Yields until every pool thread has exited (under loom an idle worker times out at once):
/// loom drops its statics, the pool among them, when the model's main thread returns.
fn pool_gone() {
    loop {
        let threads = groupwait::task_group::pool_threads();
        if threads.workers == 0 && !threads.watcher {
            return;
        }
        thread::yield_now();
    }
}

/// Model 10: the task pool's hand-off (issue 21, part 2). A `spawn`ed task runs on a pool
/// worker; once it is done the worker parks and, having no clock under loom, times out at
/// once and decides to exit, racing a second `spawn`. The second task must run either way:
/// on the same worker (the submission's token reached it before it decided; the decision is
/// taken under the lock that queues the job) or on a new one (it had already left). A job
/// handed to an exiting worker and never run would hang the second wait (a loom deadlock).
#[test]
fn m10_a_task_handed_to_an_exiting_worker_runs() {
    let outcomes = explore("10 a task handed to an exiting pool worker", || {
        let group = TaskGroup::<thread::ThreadId, ()>::new();
        group.spawn(|| Ok(thread::current().id()));
        let first = group.wait().expect("the first task ran")[0];
        let group = TaskGroup::<thread::ThreadId, ()>::new();
        group.spawn(|| Ok(thread::current().id()));
        let second = group.wait().expect("the second task ran")[0];
        pool_gone();
        if first == second {
            "the parked worker took it"
        } else {
            "a new worker took it"
        }
    });
    assert_reached(
        &outcomes,
        &["the parked worker took it", "a new worker took it"],
    );
}

/// Model 15: the thread-local that marks "this thread runs a task of group G" is per model
/// thread. A `spawn`ed task blocks at a gate, opened by another thread, while the main thread
/// waits on the group: the wait must not be taken for a wait from inside the group's own
/// task (which panics). With a thread-local shared by every model thread (loom runs them on
/// one OS thread), the main thread saw the blocked worker's mark and panicked; an admission
/// at the limit would likewise have taken itself for a task's child.
#[test]
fn m15_a_wait_beside_a_blocked_pool_task_is_not_taken_for_its_own() {
    let outcomes = explore("15 a wait beside a blocked pool task", || {
        let group = TaskGroup::<u8, ()>::new();
        let (entered, gate) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
        let (in_task, inner) = (Arc::clone(&entered), Arc::clone(&gate));
        group.spawn(move || {
            in_task.open();
            inner.pass();
            Ok(7)
        });
        let opener = thread::spawn(move || gate.open());
        // The task is running (at its gate, or just past it) when the wait begins.
        entered.pass();
        let values = group.wait().expect("the task ran");
        opener.join().unwrap();
        pool_gone();
        assert_eq!(values, [7]);
        "waited"
    });
    assert_reached(&outcomes, &["waited"]);
}

/// Model 11: a running task adds a child (polled inline, inside its own poll) while the main
/// thread begins the wait. The parent runs, so the group cannot finish before the child's
/// admission: the child is admitted whether the close came first or not, and the wait returns
/// both values (a child refused while its parent runs would panic `track`; a gate opened by
/// the child's end while its parent still ran would report the parent `Abandoned`). The
/// parent reads the group's `Debug` (its only public view of the close) just before adding
/// the child: "closed: true" there means the close came before the child's admission.
#[test]
fn m11_a_running_task_adds_a_child_while_the_wait_begins() {
    let outcomes = explore("11 a running task's child races the wait", || {
        let group = Arc::new(TaskGroup::<u8, ()>::new());
        let task0 = {
            let inner = Arc::clone(&group);
            group.track(async move {
                let closed = format!("{inner:?}").contains("closed: true");
                inner.track(async { Ok(1) }).await;
                Ok(u8::from(closed))
            })
        };
        let parent = thread::spawn(move || block_on(task0));
        let values = group.wait().expect("both tasks succeed");
        parent.join().unwrap();
        match values[..] {
            [1, 1] => "child added after the close",
            [0, 1] => "child added before the close (or not seen)",
            _ => panic!("unexpected values {values:?}"),
        }
    });
    assert_reached(
        &outcomes,
        &[
            "child added after the close",
            "child added before the close (or not seen)",
        ],
    );
}

/// Model 12: an outside thread's `try_track` races the wait on a group whose only task is
/// ending on a third thread. Either the admission came before the group was closed with no
/// task running, and the wait waits for the new task and returns its value, or it came after
/// and is refused `Closed`, and the wait's values are task 0's alone. Never admitted and
/// missing from the values, never a hang.
#[test]
fn m12_an_outside_admission_races_the_wait_on_the_ending_task() {
    let outcomes = explore("12 an outside admission races the wait", || {
        let group = Arc::new(TaskGroup::<u8, ()>::new());
        let task0 = group.track(async { Ok(0) });
        let runner = thread::spawn(move || block_on(task0));
        let adder = {
            let group = Arc::clone(&group);
            thread::spawn(move || match group.try_track(async { Ok(1) }) {
                Ok(task1) => {
                    block_on(task1);
                    true
                }
                Err(TrySpawnError::Closed(_)) => false,
                Err(TrySpawnError::Full(_)) => panic!("a group without a limit is never full"),
            })
        };
        let values = group.wait();
        let admitted = adder.join().unwrap();
        runner.join().unwrap();
        if admitted {
            assert_eq!(values, Ok(vec![0, 1]));
            "admitted, and waited for"
        } else {
            assert_eq!(values, Ok(vec![0]));
            "refused Closed"
        }
    });
    assert_reached(&outcomes, &["admitted, and waited for", "refused Closed"]);
}

/// Closes `group` (a wait begins) while its tasks have not run: under loom a timed wait gives
/// up instead of sleeping, so this returns `None` with the group closed and nothing taken.
fn close_early<T: std::fmt::Debug, E: std::fmt::Debug>(group: &TaskGroup<T, E>) {
    let deadline = std::time::Instant::now() + loom_support::TIMEOUT;
    assert!(
        group.wait_deadline(deadline).is_none(),
        "no task has run yet"
    );
}

/// Model 13: two tasks end concurrently after the group was closed. Exactly one of the two
/// ends opens the gate (a second opening is a `negative WaitGroup counter` panic on a task's
/// thread, none is a loom deadlock), and only the second end in time may: the wait returns
/// both values. Each task also writes a [`Slot`](loom_support::Slot) instrument that the
/// waiter reads after the wait and before the joins: everything a task did happens-before the
/// wait's return (the group's documented ordering). Loom orders the outcome slots' locks by
/// its schedule, and the waiter takes each slot's lock, so here that edge does not rest on
/// `Admissions::end`'s Release alone: a relaxed `end` passes this model.
#[test]
fn m13_two_ends_after_the_close_open_the_gate_once() {
    let outcomes = explore("13 two ends after the close", || {
        let group = TaskGroup::<u8, ()>::new();
        let writes = [
            Arc::new(loom_support::Slot::new()),
            Arc::new(loom_support::Slot::new()),
        ];
        let tasks = [0, 1].map(|i| {
            let write = Arc::clone(&writes[i]);
            group.track(async move {
                write.write();
                Ok(i as u8)
            })
        });
        close_early(&group);
        let ends = tasks.map(|task| thread::spawn(move || block_on(task)));
        assert_eq!(group.wait(), Ok(vec![0, 1]));
        for write in &writes {
            write.read(); // before the joins, which would order it anyway
        }
        for end in ends {
            end.join().unwrap();
        }
        "both values, both writes seen"
    });
    assert_reached(&outcomes, &["both values, both writes seen"]);
}

/// Model 13b: model 13 with both tasks failing. The error `wait` returns is the one that
/// cancelled the group (the first in time, written with a relaxed exchange before its task's
/// end and read by the wait through the gate): either task's, by the schedule. The other task
/// failed too, or was cancelled before it started.
#[test]
fn m13b_the_first_of_two_concurrent_errors_is_reported() {
    let outcomes = explore("13b the first of two concurrent errors", || {
        let group = TaskGroup::<u8, &'static str>::new();
        let (task0, task1) = (
            group.track(async { Err("zero") }),
            group.track(async { Err("one") }),
        );
        close_early(&group);
        let ends = [
            thread::spawn(move || block_on(task0)),
            thread::spawn(move || block_on(task1)),
        ];
        let error = group.wait().expect_err("both tasks fail or are cancelled");
        for end in ends {
            end.join().unwrap();
        }
        match (group.token().cause(), error) {
            (Some(Cause::Failed { task: 0 }), TaskError::Failed("zero")) => "task 0's error first",
            (Some(Cause::Failed { task: 1 }), TaskError::Failed("one")) => "task 1's error first",
            (cause, error) => {
                panic!("reported {error:?}, but the group was cancelled by {cause:?}")
            }
        }
    });
    assert_reached(&outcomes, &["task 0's error first", "task 1's error first"]);
}

/// Model 14: a snapshot (`pending`) racing the admission of a named task. The task is listed
/// with the name it was given, or not at all (not admitted yet): never as an unnamed task.
/// (The same holds for a queued task's `WaitingForSlot`: both are entered in the pending
/// table by the admission.)
#[test]
fn m14_a_named_task_is_never_listed_without_its_name() {
    let outcomes = explore("14 a snapshot races a named admission", || {
        let group = Arc::new(TaskGroup::<u8, ()>::new());
        let snapshot = {
            let group = Arc::clone(&group);
            thread::spawn(move || group.pending())
        };
        let task = group.named("child").track(async { Ok(1) });
        let listed = snapshot.join().unwrap();
        for entry in &listed {
            assert_eq!(entry.name.as_deref(), Some("child"), "{entry}");
        }
        block_on(task);
        assert_eq!(group.wait(), Ok(vec![1]));
        if listed.is_empty() {
            "not listed (not admitted yet)"
        } else {
            "listed with its name"
        }
    });
    assert_reached(
        &outcomes,
        &["not listed (not admitted yet)", "listed with its name"],
    );
}

/// Model 14b: a snapshot racing an admission into a cancelled group. The task is recorded
/// `Cancelled` by its admission and never runs: no snapshot lists it.
///
/// In 14 and 14b the snapshot runs on the spawned thread and the admission on the main one.
/// The other way round, loom (which learns a spawned thread's next operation only once it
/// has run) explored one schedule of 14b, the snapshot before the admission, and passed.
#[test]
fn m14b_a_task_cancelled_at_admission_is_never_listed() {
    let outcomes = explore("14b a snapshot races a cancelled admission", || {
        let group = Arc::new(TaskGroup::<u8, ()>::new());
        group.cancel();
        let snapshot = {
            let group = Arc::clone(&group);
            thread::spawn(move || group.pending())
        };
        let task = group.track(async { Ok(1) });
        let listed = snapshot.join().unwrap();
        assert_eq!(listed, [], "a task that never runs is listed");
        block_on(task);
        assert_eq!(group.wait(), Err(TaskError::Cancelled));
        "not listed"
    });
    assert_reached(&outcomes, &["not listed"]);
}
