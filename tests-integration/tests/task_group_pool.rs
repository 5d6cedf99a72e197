//! The task pool behind `TaskGroup::spawn` (issue 21, part 2): workers are reused, tasks that
//! wait for each other all run, a stall adds workers by doubling (not one per queued task), a
//! task's panic leaves its worker in the pool, idle workers and the watcher exit.
//!
//! The pool is one per process, so every test of this file takes `SERIAL` first: no other
//! test's tasks change the counts these tests read. (The other task group files share the
//! pool too, but in their own processes.)

mod support;

use groupwait::task_group::{pool_threads, PoolThreads, TaskError, TaskGroup};
use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
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
    barrier_of(
        n,
        "every task reached the barrier: none was left queued behind blocked workers",
    );
}

/// Spawns `n` tasks that wait for each other at a barrier, and fails with `why` unless all of
/// them return within [`PATIENCE`].
fn barrier_of(n: usize, why: &str) {
    let barrier = Arc::new(Barrier::new(n));
    let group = TaskGroup::<usize, Infallible>::new();
    for i in 0..n {
        let barrier = Arc::clone(&barrier);
        group.spawn(move || {
            barrier.wait();
            Ok(i)
        });
    }
    let values = group.wait_timeout(PATIENCE).expect(why).unwrap();
    assert_eq!(values, (0..n).collect::<Vec<_>>());
}

/// A barrier of 64 tasks, far more than the cores: the watcher must go on adding workers,
/// stall after stall, until every one of them has a thread (at most doubling per stall, so
/// about log2(64 / cores) stalls; a watcher that stopped after its first additions would
/// leave the rest queued behind the blocked ones, and the bounded wait would fail).
#[test]
#[cfg_attr(miri, ignore)] // 64 threads; the test above runs a barrier under Miri
fn a_barrier_of_64_tasks_all_get_threads() {
    let _serial = serial();
    let n = 64;
    barrier_of(
        n,
        "all 64 tasks reached the barrier: the watcher kept adding workers",
    );
    assert!(pool_threads().workers >= n);
}

/// Holds tasks until the test opens it. A task waits at most [`PATIENCE`], then fails, so a
/// test that panics before opening it leaves no task blocked for ever.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn pass(&self) -> Result<(), &'static str> {
        let deadline = Instant::now() + PATIENCE;
        let mut open = self.open.lock().unwrap();
        while !*open {
            let now = Instant::now();
            if now >= deadline {
                return Err("the gate was never opened");
            }
            open = self.opened.wait_timeout(open, deadline - now).unwrap().0;
        }
        Ok(())
    }
}

/// The stall rule: when nothing is taken from the queue for a millisecond, the watcher adds
/// as many workers as are alive (at least one), never one per queued task. Here the cores'
/// workers are all held at a gate, so the queue cannot move without the watcher, and
/// thousands of tiny tasks are queued behind them: the first stall doubles the pool, the new
/// workers run the tiny tasks and the stall is over. The pool grows past `held × 2^k` only
/// after `k` stalled milliseconds in a row in which not one new worker took a task; the bound
/// allows seven (`held × 128`, 256 on 2 cores), and the queue is eight times that, so a
/// worker per queued task (the rule before) fails.
#[test]
#[cfg_attr(miri, ignore)] // thousands of tasks
fn a_stall_adds_workers_by_doubling_not_one_per_queued_task() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // Workers left by an earlier test of this process would take the tiny tasks without a
    // stall: wait for them to leave (after their idle time; at once in a process of its own).
    wait_until("the pool to shrink to the cores' workers", || {
        std::thread::sleep(Duration::from_millis(10));
        pool_threads().workers <= cores
    });

    // Every core's worker blocked at the gate.
    let gate = Arc::new(Gate::default());
    let running = Arc::new(AtomicUsize::new(0));
    let blockers = TaskGroup::<(), &'static str>::new();
    for _ in 0..cores {
        let (gate, running) = (Arc::clone(&gate), Arc::clone(&running));
        blockers.spawn(move || {
            running.fetch_add(1, Ordering::Relaxed);
            gate.pass()
        });
    }
    wait_until("every core's worker to be held at the gate", || {
        running.load(Ordering::Relaxed) == cores
    });
    let held = pool_threads().workers;
    assert_eq!(held, cores, "one worker per blocked task");

    let bound = held * 128;
    let queued = bound * 8;
    let tiny = TaskGroup::<(), Infallible>::new();
    for _ in 0..queued {
        tiny.spawn(|| Ok(()));
    }
    // Several stall periods with the gate shut, sampling the pool.
    let mut peak = pool_threads().workers;
    let hold = Instant::now() + Duration::from_millis(10);
    while Instant::now() < hold {
        std::thread::sleep(Duration::from_micros(200));
        peak = peak.max(pool_threads().workers);
    }
    tiny.wait_timeout(PATIENCE)
        .expect("the tiny tasks ran while every core's worker was held: the watcher added workers")
        .unwrap();
    // Workers stay alive for seconds after their last task: this counts every one started.
    peak = peak.max(pool_threads().workers);
    gate.open();
    blockers
        .wait_timeout(PATIENCE)
        .expect("the held tasks ended once the gate opened")
        .unwrap();

    assert!(peak > held, "the tiny tasks ran on added workers: {peak}");
    assert!(
        peak <= bound,
        "a stall with {queued} tiny tasks queued behind {held} held workers grew the pool to \
         {peak} workers (at most doubling per stalled millisecond allows {bound} here)"
    );
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
