//! The task pool behind `TaskGroup::spawn` (issue 21, part 2): workers are reused, tasks that
//! wait for each other all run, a task's panic leaves its worker in the pool, idle workers
//! and the watcher exit.
//!
//! The pool is one per process, so every test of this file takes `SERIAL` first: no other
//! test's tasks change the counts these tests read. (The other task group files share the
//! pool too, but in their own processes.)

mod support;

use groupwait::task_group::{pool_threads, PoolThreads, TaskError, TaskGroup};
use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread::ThreadId;
use support::{wait_for, wait_until, PATIENCE};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits until every worker is parked, and returns the counts.
fn all_parked() -> PoolThreads {
    let mut seen = pool_threads();
    wait_until("every pool worker to park", || {
        seen = pool_threads();
        seen.idle == seen.workers
    });
    seen
}

/// One task at a time, each started once the previous one's worker has parked again: no
/// task needs a new thread, so the pool never grows past the workers it had (or one).
#[test]
#[cfg_attr(miri, ignore)] // under Miri idle workers exit at once (pool.rs, IDLE_TIMEOUT)
fn a_parked_worker_takes_the_next_task() {
    let _serial = serial();
    let most = all_parked().workers.max(1);
    let mut ran_on: Vec<ThreadId> = Vec::new();
    for i in 0..20_usize {
        let group = TaskGroup::<(usize, ThreadId), Infallible>::new();
        group.spawn(move || Ok((i, std::thread::current().id())));
        let [(j, id)] = group.wait().unwrap()[..] else {
            panic!("one task, one value");
        };
        assert_eq!(j, i);
        ran_on.push(id);
        let now = all_parked();
        assert!(
            now.workers <= most,
            "task {i}: {} workers after a task at a time, {most} before",
            now.workers
        );
    }
    let threads: std::collections::HashSet<ThreadId> = ran_on.into_iter().collect();
    assert!(
        threads.len() <= most,
        "{} threads for 20 tasks",
        threads.len()
    );
}

/// More tasks than cores, each waiting for all the others at a barrier: they can only all
/// finish if each gets a thread, so the pool must not leave any of them queued behind the
/// blocked ones (the watcher adds workers when the queue stands still).
#[test]
fn tasks_that_wait_for_each_other_all_run() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let n = if cfg!(miri) { 3 } else { 2 * cores + 3 };
    let barrier = Arc::new(Barrier::new(n));
    let group = TaskGroup::<usize, Infallible>::new();
    for i in 0..n {
        let barrier = Arc::clone(&barrier);
        group.spawn(move || {
            barrier.wait();
            Ok(i)
        });
    }
    let values = group
        .wait_timeout(PATIENCE)
        .expect("every task reached the barrier: none was left queued behind blocked workers")
        .unwrap();
    assert_eq!(values, (0..n).collect::<Vec<_>>());
}

thread_local! {
    /// Set by a task: lives as long as the worker thread that ran it.
    static KEPT: RefCell<Option<Arc<()>>> = const { RefCell::new(None) };
}

/// A task that panics is reported as `Panicked`, and the worker that ran it goes back to the
/// pool (its thread-locals, set by the task, are still alive: the documented leak of a task's
/// thread-local state into the next task on the same worker).
#[test]
#[cfg_attr(miri, ignore)] // under Miri idle workers exit at once (pool.rs, IDLE_TIMEOUT)
fn a_panicking_task_leaves_its_worker_in_the_pool() {
    let _serial = serial();
    let alive = Arc::new(());
    let group = TaskGroup::<(), Infallible>::new();
    let mark = Arc::clone(&alive);
    group.spawn(move || {
        KEPT.with(|k| *k.borrow_mut() = Some(mark));
        panic!("planned panic in a pool task");
    });
    assert!(matches!(group.wait(), Err(TaskError::Panicked(_))));
    let parked = all_parked();
    assert!(parked.workers >= 1);
    // The worker's thread-locals are dropped only when its thread exits: it has not.
    assert_eq!(
        Arc::strong_count(&alive),
        2,
        "the worker that ran the panicking task is gone"
    );
    // And the pool still runs tasks.
    let group = TaskGroup::<u8, Infallible>::new();
    group.spawn(|| Ok(7));
    assert_eq!(group.wait(), Ok(vec![7]));
}

/// A dropped group leaves no thread behind for long: five seconds after the last task,
/// every worker and the watcher have exited (under Miri they leave at once: not run there).
#[test]
#[cfg_attr(miri, ignore)]
fn idle_workers_and_the_watcher_exit() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // Enough blocked tasks that the watcher runs too.
    let n = 2 * cores + 1;
    let barrier = Arc::new(Barrier::new(n));
    let group = TaskGroup::<(), Infallible>::new();
    for _ in 0..n {
        let barrier = Arc::clone(&barrier);
        group.spawn(move || {
            barrier.wait();
            Ok(())
        });
    }
    group.wait().unwrap();
    drop(group);
    let done = pool_threads();
    assert!(done.workers >= n, "{n} tasks at a barrier ran on {done:?}");
    wait_for(
        "every pool thread to exit after its idle time (workers, watcher)",
        (0, false),
        || {
            let now = pool_threads();
            // Not too often: each look takes the pool's lock.
            std::thread::sleep(std::time::Duration::from_millis(10));
            (now.workers, now.watcher)
        },
    );
}
