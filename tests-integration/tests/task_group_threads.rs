//! Task groups on threads: results, first error, cancellation, limit, waits, drop, misuse.
//! (Panics as values are in `task_group_panics.rs`: they install a panic hook.)

mod support;

use groupwait::task_group::{CancelToken, Cause, TaskError, TaskGroup, TrySpawnError};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use support::wait_until;

const fn assert_send_sync<T: Send + Sync>() {}
const _: () = assert_send_sync::<TaskGroup<String, std::io::Error>>();
const _: () = assert_send_sync::<CancelToken>();
const fn assert_send<T: Send>() {}
const _: () = assert_send::<TaskError<std::io::Error>>();

/// Miri is slow: smaller sizes there, the same assertions.
const fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        full
    }
}

/// A flag a task raises when it has started, so that a test can make sure it runs before the
/// group is cancelled (a task not started by then would never run).
#[derive(Clone, Default)]
struct Started(Arc<AtomicBool>);

impl Started {
    fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn wait(&self) {
        wait_until("the task to start", || self.0.load(Ordering::SeqCst));
    }
}

/// Blocks a task until the group's token fires (bounded).
fn until_cancelled(token: &CancelToken) {
    wait_until("the group to be cancelled", || token.is_cancelled());
}

/// Spawns a task that raises the returned [`Started`], blocks until the group is cancelled,
/// then returns `result`.
fn spawn_until_cancelled<T: Send + 'static, E: Send + 'static>(
    group: &TaskGroup<T, E>,
    result: Result<T, E>,
) -> Started {
    let token = group.token();
    let started = Started::default();
    let raise = started.clone();
    group.spawn(move || {
        raise.raise();
        until_cancelled(&token);
        result
    });
    started
}

#[test]
fn results_come_back_in_submission_order_whatever_the_completion_order() {
    let n = size(16, 4);
    let group = TaskGroup::<usize, Infallible>::new();
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..n {
        let finished = Arc::clone(&finished);
        // Task i finishes only after every task submitted after it: reverse completion.
        group.spawn(move || {
            wait_until("the later tasks to finish", || {
                finished.load(Ordering::Acquire) == n - 1 - i
            });
            finished.fetch_add(1, Ordering::Release);
            Ok(i * i)
        });
    }
    let values = group.wait().unwrap();
    assert_eq!(values, (0..n).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn first_error_cancels_the_rest_and_is_what_wait_returns() {
    let group = TaskGroup::<&str, String>::new();
    let token = group.token();
    group.spawn(move || {
        until_cancelled(&token);
        Err("late error, after the cancellation".to_string())
    });
    group.spawn(|| Err("first".to_string()));
    match group.wait() {
        Err(TaskError::Failed(e)) => assert_eq!(e, "first"),
        other => panic!("expected the first error, got {other:?}"),
    }
    // The cause names the task (submission index 1) and is set before `wait` returns.
    assert_eq!(group.token().cause(), Some(Cause::Failed { task: 1 }));
}

#[test]
fn wait_all_keeps_every_outcome_in_submission_order() {
    let group = TaskGroup::<u32, &str>::new();
    let started = spawn_until_cancelled(&group, Ok(0));
    group.spawn(move || {
        started.wait();
        Err("boom")
    });
    let all = group.wait_all();
    assert!(
        matches!(all[..], [Ok(0), Err(TaskError::Failed("boom"))]),
        "{all:?}"
    );
}

#[test]
fn keep_going_runs_every_task_and_no_error_is_lost() {
    let n = size(12, 4);
    let group = TaskGroup::<usize, usize>::builder().keep_going().build();
    for i in 0..n {
        group.spawn(move || if i % 3 == 0 { Err(i) } else { Ok(i) });
    }
    let all = group.wait_all();
    assert_eq!(all.len(), n);
    for (i, outcome) in all.iter().enumerate() {
        match outcome {
            Err(TaskError::Failed(e)) => assert!(i % 3 == 0 && *e == i),
            Ok(v) => assert!(i % 3 != 0 && *v == i),
            other => panic!("task {i}: {other:?}"),
        }
    }
    assert!(!group.is_cancelled(), "keep_going: errors do not cancel");
}

#[test]
fn tasks_added_after_cancel_never_start_and_are_reported_cancelled() {
    let group = TaskGroup::<(), ()>::new();
    group.spawn(|| Ok(()));
    assert!(group.cancel());
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    group.spawn(move || {
        flag.store(true, Ordering::Relaxed);
        Ok(())
    });
    let all = group.wait_all();
    assert!(
        !ran.load(Ordering::Relaxed),
        "a task added after the cancel ran"
    );
    assert!(matches!(all[1], Err(TaskError::Cancelled)), "{all:?}");
    assert_eq!(group.token().cause(), Some(Cause::Explicit));
}

#[test]
fn explicit_cancel_makes_wait_report_the_skipped_task() {
    let group = TaskGroup::<(), ()>::new();
    group.cancel();
    group.spawn(|| unreachable!("never started"));
    assert!(matches!(group.wait(), Err(TaskError::Cancelled)));
}

#[test]
fn a_cancelled_token_only_keeps_its_first_cause() {
    let group = TaskGroup::<(), &str>::new();
    group.spawn(|| Err("x"));
    let _ = group.wait();
    assert!(!group.cancel(), "already cancelled by the error");
    assert_eq!(group.token().cause(), Some(Cause::Failed { task: 0 }));
}

#[test]
fn limit_bounds_the_running_tasks() {
    let n = size(24, 6);
    let group = TaskGroup::<(), Infallible>::with_limit(3);
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
        group.spawn(move || {
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(running, Ordering::SeqCst);
            std::thread::yield_now();
            now.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
    }
    assert_eq!(group.wait().unwrap().len(), n);
    assert!(
        peak.load(Ordering::SeqCst) <= 3,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}

#[test]
fn spawn_at_the_limit_blocks_until_a_slot_is_given_back() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let (open, gate) = mpsc::channel::<()>();
    let first_done = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&first_done);
    group.spawn(move || {
        gate.recv().unwrap();
        done.store(true, Ordering::SeqCst);
        Ok(1)
    });
    let second_saw_first_done = std::thread::scope(|s| {
        let adder = s.spawn(|| {
            let seen = Arc::new(AtomicBool::new(false));
            let (seen2, first) = (Arc::clone(&seen), Arc::clone(&first_done));
            group.spawn(move || {
                seen2.store(first.load(Ordering::SeqCst), Ordering::SeqCst);
                Ok(2)
            });
            seen
        });
        open.send(()).unwrap();
        adder.join().unwrap()
    });
    assert_eq!(group.wait(), Ok(vec![1, 2]));
    assert!(
        second_saw_first_done.load(Ordering::SeqCst),
        "the second task ran while the first held the only slot"
    );
}

#[test]
fn try_spawn_at_the_limit_hands_the_task_back() {
    let group = TaskGroup::<u8, ()>::with_limit(1);
    let (open, gate) = mpsc::channel::<()>();
    group.spawn(move || gate.recv().map(|()| 1).map_err(drop));
    let refused = group.try_spawn(|| Ok(2)).unwrap_err();
    assert!(matches!(refused, TrySpawnError::Full(_)));
    let task = refused.into_inner();
    open.send(()).unwrap();
    group.wait_idle();
    // The handed-back closure is still ours to run.
    assert_eq!(task(), Ok(2));
}

/// conc #88: a limited group whose tasks wait for the cancellation while the adder is
/// blocked on a slot. The error of one task must cancel the group and wake the adder.
#[test]
fn cancellation_wakes_a_caller_blocked_on_a_slot() {
    let group = Arc::new(TaskGroup::<(), &str>::with_limit(2));
    let first = spawn_until_cancelled(&group, Ok(()));
    let adder_started = Arc::new(AtomicBool::new(false));
    let started = Arc::clone(&adder_started);
    group.spawn(move || {
        first.wait();
        wait_until("the adder to start", || started.load(Ordering::SeqCst));
        Err("fails while the adder waits for a slot")
    });
    let adder = {
        let group = Arc::clone(&group);
        std::thread::spawn(move || {
            adder_started.store(true, Ordering::SeqCst);
            group.spawn(|| unreachable!("added at the limit, then cancelled: never starts"));
        })
    };
    adder.join().unwrap();
    let all = group.wait_all();
    assert!(
        matches!(
            all[..],
            [Ok(()), Err(TaskError::Failed(_)), Err(TaskError::Cancelled)]
        ),
        "{all:?}"
    );
}

#[test]
fn an_explicit_cancel_wakes_every_blocked_adder() {
    let adders = size(4, 2);
    let group = TaskGroup::<(), ()>::with_limit(1);
    let token = group.token();
    group.spawn(move || {
        until_cancelled(&token);
        Ok(())
    });
    std::thread::scope(|s| {
        for _ in 0..adders {
            s.spawn(|| group.spawn(|| Ok(())));
        }
        group.cancel();
    });
    let all = group.wait_all();
    assert_eq!(all.len(), adders + 1);
}

#[test]
fn wait_timeout_and_wait_deadline_never_return_early() {
    let group = TaskGroup::<(), ()>::new();
    let started = spawn_until_cancelled(&group, Ok(()));
    started.wait();
    let start = Instant::now();
    assert!(group.wait_timeout(Duration::from_millis(20)).is_none());
    assert!(start.elapsed() >= Duration::from_millis(20));
    let deadline = Instant::now() + Duration::from_millis(10);
    assert!(group.wait_deadline(deadline).is_none());
    assert!(Instant::now() >= deadline);
    assert!(!group.wait_idle_deadline(Instant::now()));
    group.cancel();
    // A timed-out wait took nothing: the outcomes are still there.
    assert_eq!(
        group.wait_timeout(Duration::from_secs(60)),
        Some(Ok(vec![()]))
    );
}

#[test]
fn any_number_of_waiters_are_released_together() {
    let waiters = size(4, 2);
    let group = TaskGroup::<u8, ()>::new();
    let (open, gate) = mpsc::channel::<()>();
    group.spawn(move || gate.recv().map(|()| 9).map_err(drop));
    std::thread::scope(|s| {
        for _ in 0..waiters {
            s.spawn(|| group.wait_idle());
        }
        open.send(()).unwrap();
        assert_eq!(group.wait(), Ok(vec![9]));
    });
}

#[test]
fn the_deadline_cancels_the_group_and_not_before_it() {
    let deadline = Instant::now() + Duration::from_millis(30);
    let group = TaskGroup::<Instant, ()>::builder()
        .deadline(deadline)
        .build();
    let token = group.token();
    group.spawn(move || {
        until_cancelled(&token);
        Ok(Instant::now())
    });
    match group.wait() {
        // The task started before the deadline and saw the cancellation after it.
        Ok(seen) => assert!(seen[0] >= deadline, "cancelled before the deadline"),
        // A slow machine (Miri) reached the deadline before the task started: it never ran.
        Err(TaskError::Cancelled) => assert!(Instant::now() >= deadline),
        Err(other) => panic!("unexpected {other:?}"),
    }
    assert_eq!(group.token().cause(), Some(Cause::Deadline));
}

#[test]
fn a_group_that_finishes_before_its_deadline_is_not_cancelled() {
    let group = TaskGroup::<(), ()>::builder()
        .timeout(Duration::from_secs(3600))
        .build();
    group.spawn(|| Ok(()));
    group.wait().unwrap();
    assert!(!group.is_cancelled());
    drop(group); // retires the deadline thread
}

#[test]
fn tasks_may_add_tasks_while_the_group_is_waited() {
    fn walk(group: &Arc<TaskGroup<usize, Infallible>>, depth: usize) {
        let g = Arc::clone(group);
        group.spawn(move || {
            if depth > 0 {
                walk(&g, depth - 1);
                walk(&g, depth - 1);
            }
            Ok(depth)
        });
    }
    let group = Arc::new(TaskGroup::new());
    let depth = size(5, 2);
    walk(&group, depth);
    let values = group.wait().unwrap();
    assert_eq!(values.len(), (1 << (depth + 1)) - 1);
    assert_eq!(values[0], depth, "the root was submitted first");
}

#[test]
fn scoped_tasks_borrow_locals() {
    let words: Vec<String> = ["one", "three", "five"].map(String::from).to_vec();
    let group = TaskGroup::<usize, ()>::with_limit(2);
    std::thread::scope(|s| {
        for w in &words {
            group.spawn_scoped(s, move || Ok(w.len()));
        }
        group.try_spawn_scoped(s, || Ok(words.len())).unwrap_or(());
        let values = group.wait().unwrap();
        assert_eq!(values[..3], [3, 5, 4]);
    });
}

#[test]
fn a_unit_group_is_a_counting_errgroup() {
    let n = size(32, 4);
    let group = TaskGroup::<(), Infallible>::new();
    let hits = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let hits = Arc::clone(&hits);
        group.spawn(move || {
            hits.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
    }
    assert_eq!(group.wait().unwrap().len(), n);
    assert_eq!(hits.load(Ordering::Relaxed), n);
}

/// A value whose drop is counted.
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_group_with_running_tasks_cancels_them_and_does_not_wait() {
    let group = TaskGroup::<Counted, ()>::new();
    let token = group.token();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&drops);
    let task_token = group.token();
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    group.spawn(move || {
        s.store(true, Ordering::SeqCst);
        until_cancelled(&task_token);
        Ok(Counted(d))
    });
    // A task not started when the group is dropped would never start: wait for it to run.
    wait_until("the task to start", || started.load(Ordering::SeqCst));
    drop(group); // returns at once: the task is still waiting for the cancellation
    assert_eq!(token.cause(), Some(Cause::GroupDropped));
    // The detached task finishes on its own; its value is dropped with the last reference.
    wait_until("the detached task's value to be dropped", || {
        drops.load(Ordering::SeqCst) == 1
    });
}

#[test]
fn dropping_a_finished_group_does_not_cancel_its_token() {
    let group = TaskGroup::<(), ()>::new();
    let token = group.token();
    group.spawn(|| Ok(()));
    group.wait_idle();
    drop(group);
    assert!(!token.is_cancelled());
}

#[test]
#[should_panic = "TaskGroup limit must be at least 1"]
fn a_limit_of_zero_panics() {
    let _ = TaskGroup::<(), ()>::with_limit(0);
}

#[test]
#[should_panic = "task added after the group was waited on and all its tasks had finished"]
fn spawn_after_the_group_finished_panics() {
    let group = TaskGroup::<(), ()>::new();
    group.spawn(|| Ok(()));
    group.wait().unwrap();
    group.spawn(|| Ok(()));
}

#[test]
fn try_spawn_after_the_group_finished_hands_the_task_back() {
    let group = TaskGroup::<(), ()>::with_limit(1);
    group.wait().unwrap();
    assert!(matches!(
        group.try_spawn(|| Ok(())),
        Err(TrySpawnError::Closed(_))
    ));
}

#[test]
#[should_panic = "the outcomes were already taken by an earlier wait"]
fn taking_the_outcomes_twice_panics() {
    let group = TaskGroup::<(), ()>::new();
    group.spawn(|| Ok(()));
    group.wait().unwrap();
    let _ = group.wait_all();
}

#[test]
fn debug_output_shows_the_group_state() {
    let group = TaskGroup::<(), ()>::with_limit(2);
    group.spawn(|| Ok(()));
    group.wait_idle();
    let text = format!("{group:?}");
    assert!(
        text.contains("running: 0") && text.contains("submitted: 1"),
        "{text}"
    );
    assert!(text.contains("max: 2"), "{text}");
}

#[test]
fn tasks_not_started_when_the_group_is_dropped_never_start() {
    let group = TaskGroup::<(), ()>::new();
    let token = group.token();
    let (open, gate) = mpsc::channel::<()>();
    let started = Started::default();
    let raise = started.clone();
    group.spawn(move || {
        raise.raise();
        gate.recv().map_err(drop)
    });
    started.wait();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    // Admitted, not yet started: a future task that nobody has polled.
    let task = group.track(async move {
        flag.store(true, Ordering::SeqCst);
        Ok(())
    });
    drop(group); // a task is running: the drop cancels
    assert_eq!(token.cause(), Some(Cause::GroupDropped));
    futures::executor::block_on(task);
    assert!(
        !ran.load(Ordering::SeqCst),
        "a task started after the group was dropped"
    );
    open.send(()).unwrap();
}

/// Many rounds of a limited group with several adders racing an error: every round ends, no
/// outcome is lost, and the limit is never exceeded.
#[test]
fn stress_adders_race_an_error_under_a_limit() {
    let rounds = size(200, 3);
    let adders = 3;
    let per_adder = size(8, 2);
    for round in 0..rounds {
        let group = TaskGroup::<usize, usize>::with_limit(2);
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for a in 0..adders {
                let (group, now, peak) = (&group, &now, &peak);
                s.spawn(move || {
                    for i in 0..per_adder {
                        group.spawn_scoped(s, move || {
                            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(running, Ordering::SeqCst);
                            now.fetch_sub(1, Ordering::SeqCst);
                            if (a + i + round) % 7 == 3 {
                                Err(i)
                            } else {
                                Ok(i)
                            }
                        });
                    }
                });
            }
        });
        let all = group.wait_all();
        assert_eq!(all.len(), adders * per_adder, "round {round}");
        assert!(peak.load(Ordering::SeqCst) <= 2, "round {round}");
        let failed = all
            .iter()
            .filter(|o| matches!(o, Err(TaskError::Failed(_))))
            .count();
        let cancelled = all
            .iter()
            .filter(|o| matches!(o, Err(TaskError::Cancelled)))
            .count();
        assert_eq!(failed > 0, group.is_cancelled(), "round {round}: {all:?}");
        assert!(cancelled == 0 || failed > 0, "round {round}: {all:?}");
    }
}

#[test]
fn a_task_waiting_on_its_own_group_panics_instead_of_hanging() {
    let group = Arc::new(TaskGroup::<(), ()>::new());
    let inner = Arc::clone(&group);
    group.spawn(move || {
        inner.wait_idle(); // would wait for itself
        Ok(())
    });
    let error = group.wait().unwrap_err();
    let message = error.panic_message().unwrap_or_default().to_string();
    assert!(message.contains("would wait for itself"), "{message}");

    // A future task polled on this thread: the same, through its poll.
    let group = Arc::new(TaskGroup::<(), ()>::new());
    let inner = Arc::clone(&group);
    let task = group.track(async move {
        inner.wait_idle_async().await;
        Ok(())
    });
    futures::executor::block_on(task);
    let error = group.wait().unwrap_err();
    assert!(error
        .panic_message()
        .unwrap_or_default()
        .contains("would wait for itself"));
}
