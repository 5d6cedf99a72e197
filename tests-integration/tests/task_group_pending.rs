//! Who is late (issue 23): `TaskGroup::pending` lists exactly the unfinished tasks, with their
//! names and states, and `TaskGroup::named` names them.

mod support;

use groupwait::task_group::{PendingTask, TaskGroup, TaskState};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use support::wait_until;

/// `(index, name, state)` of each unfinished task.
fn seen(pending: &[PendingTask]) -> Vec<(usize, Option<&str>, TaskState)> {
    pending
        .iter()
        .map(|t| (t.index, t.name.as_deref(), t.state))
        .collect()
}

/// A gate a task blocks on until the test opens it (or drops it: the task then fails).
fn gate() -> (Sender<()>, Receiver<()>) {
    channel()
}

#[test]
fn a_task_stuck_on_a_barrier_is_reported_after_a_timed_wait() {
    let group = TaskGroup::<u32, String>::new();
    let barrier = Arc::new(Barrier::new(2));
    group.named("warm cache").spawn(|| Ok(1));
    let stuck = Arc::clone(&barrier);
    group.named(format!("fetch user {}", 42)).spawn(move || {
        stuck.wait();
        Ok(2)
    });
    group.spawn(|| Ok(3));
    wait_until("the other two tasks finish", || group.running() == 1);

    assert_eq!(group.wait_timeout(Duration::from_millis(20)), None);
    let pending = group.pending();
    assert_eq!(
        seen(&pending),
        [(1, Some("fetch user 42"), TaskState::Running)]
    );
    let line = pending[0].to_string();
    assert!(
        line.starts_with("task 1 \"fetch user 42\": running for "),
        "{line}"
    );
    let debug = format!("{group:?}");
    assert!(
        debug.contains("pending: [task 1 \"fetch user 42\": running for "),
        "{debug}"
    );

    barrier.wait();
    assert_eq!(group.wait(), Ok(vec![1, 2, 3]));
    assert!(group.pending().is_empty());
}

#[test]
fn finished_tasks_disappear_from_the_snapshot() {
    let group = TaskGroup::<usize, ()>::new();
    let mut gates = Vec::new();
    for i in 0..5 {
        let (open, wait) = gate();
        gates.push(Some(open));
        if i % 2 == 0 {
            group
                .named("even")
                .spawn(move || wait.recv().map(|()| i).map_err(drop));
        } else {
            group.spawn(move || wait.recv().map(|()| i).map_err(drop));
        }
    }
    let indices = |group: &TaskGroup<usize, ()>| -> Vec<usize> {
        group.pending().iter().map(|t| t.index).collect()
    };
    assert_eq!(indices(&group), [0, 1, 2, 3, 4]);
    let mut unfinished = vec![0, 1, 2, 3, 4];
    // Out of order: the oldest last, so the others finish behind an unfinished one.
    for i in [3, 1, 4, 0, 2] {
        gates[i].take().unwrap().send(()).unwrap();
        unfinished.retain(|&u| u != i);
        wait_until("the released task finishes", || {
            group.running() == unfinished.len()
        });
        assert_eq!(indices(&group), unfinished);
    }
    assert_eq!(group.wait(), Ok(vec![0, 1, 2, 3, 4]));
}

#[test]
fn a_task_waiting_for_a_slot_is_reported_as_waiting() {
    // At a limit of one, a task adding a child is not blocked: the child is queued, waiting for
    // the slot its parent holds.
    let group = Arc::new(TaskGroup::<&str, ()>::with_limit(1));
    let (open_parent, parent_gate) = gate();
    let (open_child, child_gate) = gate();
    let inner = Arc::clone(&group);
    group.named("parent").spawn(move || {
        inner
            .named("child")
            .spawn(move || child_gate.recv().map(|()| "child").map_err(drop));
        parent_gate.recv().map(|()| "parent").map_err(drop)
    });
    wait_until("the parent adds its child", || group.pending().len() == 2);
    assert_eq!(
        seen(&group.pending()),
        [
            (0, Some("parent"), TaskState::Running),
            (1, Some("child"), TaskState::WaitingForSlot),
        ]
    );
    let queued_since = group.pending()[1].since;

    open_parent.send(()).unwrap();
    wait_until("the child gets the slot", || {
        seen(&group.pending()) == [(1, Some("child"), TaskState::Running)]
    });
    assert!(group.pending()[0].since >= queued_since);

    open_child.send(()).unwrap();
    assert_eq!(group.wait(), Ok(vec!["parent", "child"]));
    assert!(group.pending().is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime")]
fn a_future_task_waiting_for_a_slot_is_reported_until_it_gets_one() {
    let rt = support::runtime();
    let group = Arc::new(TaskGroup::<u8, ()>::with_limit(1));
    let parent_gate = Arc::new(tokio::sync::Notify::new());
    let child_gate = Arc::new(tokio::sync::Notify::new());
    let (inner, parent_wait, child_wait) = (
        Arc::clone(&group),
        Arc::clone(&parent_gate),
        Arc::clone(&child_gate),
    );
    rt.spawn(group.named("parent").track(async move {
        let child = inner.named("child").track(async move {
            child_wait.notified().await;
            Ok(2)
        });
        tokio::spawn(child);
        parent_wait.notified().await;
        Ok(1)
    }));
    wait_until("the child is queued", || {
        seen(&group.pending())
            == [
                (0, Some("parent"), TaskState::Running),
                (1, Some("child"), TaskState::WaitingForSlot),
            ]
    });
    parent_gate.notify_one();
    wait_until("the child runs", || {
        seen(&group.pending()) == [(1, Some("child"), TaskState::Running)]
    });
    child_gate.notify_one();
    let outcome =
        rt.block_on(async { tokio::time::timeout(support::PATIENCE, group.wait_async()).await });
    assert_eq!(outcome, Ok(Ok(vec![1, 2])));
    assert!(group.pending().is_empty());
}

#[test]
fn a_future_never_polled_is_listed_and_leaves_when_dropped() {
    let group = TaskGroup::<(), ()>::new();
    let never = group.named("forgotten").track(async { Ok(()) });
    let unnamed = group.track(async { Ok(()) });
    assert_eq!(
        seen(&group.pending()),
        [
            (0, Some("forgotten"), TaskState::Running),
            (1, None, TaskState::Running),
        ]
    );
    futures::executor::block_on(unnamed);
    assert_eq!(
        seen(&group.pending()),
        [(0, Some("forgotten"), TaskState::Running)]
    );
    drop(never); // recorded as `Cancelled`
    assert!(group.pending().is_empty());
    assert_eq!(group.wait_all().len(), 2);
}

#[test]
fn tasks_cancelled_at_admission_are_never_listed() {
    let group = TaskGroup::<(), ()>::new();
    group.cancel();
    group.named("too late").spawn(|| Ok(()));
    let task = group.named("too late too").track(async { Ok(()) });
    assert!(group.pending().is_empty());
    drop(task);
    let (open, wait) = gate();
    let fresh = TaskGroup::<(), ()>::new();
    let (started, has_started) = gate();
    fresh.spawn(move || {
        started.send(()).unwrap();
        wait.recv().map_err(drop)
    });
    // Cancelled once it runs (a cancel before its start would skip it): not interrupted, it
    // stays listed.
    has_started
        .recv_timeout(support::PATIENCE)
        .expect("the task started");
    fresh.cancel();
    fresh.named("skipped").spawn(|| Ok(()));
    assert_eq!(seen(&fresh.pending()), [(0, None, TaskState::Running)]);
    open.send(()).unwrap();
    assert!(fresh.wait().is_err()); // cancelled
    assert!(fresh.pending().is_empty());
}

#[test]
fn the_debug_of_a_group_lists_at_most_sixteen_pending_tasks() {
    let group = TaskGroup::<(), ()>::new();
    let tasks: Vec<_> = (0..20).map(|_| group.track(async { Ok(()) })).collect();
    let debug = format!("{group:?}");
    assert!(debug.contains("task 15: running,"), "{debug}"); // unnamed: not timed
    assert!(!debug.contains("task 16:"), "{debug}");
    assert!(debug.contains("... 4 more"), "{debug}");
    futures::executor::block_on(futures::future::join_all(tasks));
    assert!(format!("{group:?}").contains("pending: []"));
}
