//! The worker threads that run `'static` thread tasks (`spawn`, `try_spawn`): one pool per
//! process, started on first use, that grows on demand and shrinks when idle.
//!
//! * A worker that finishes a job takes the next queued one; with none queued it parks, and
//!   exits after [`IDLE_TIMEOUT`] without a job.
//! * A job is never left behind busy workers for long: while fewer workers than cores are
//!   running jobs, a submission wakes (or starts) one at once; beyond that, a watcher thread
//!   checks every [`STALL`] whether the queue moves. If nothing was taken from it for that
//!   long (every worker blocked, or just busy: a stall) it adds workers, woken or started:
//!   as many as are alive (at least one), but no more than the jobs still uncovered. So the
//!   pool at most doubles per stalled millisecond, and keeps doubling while the stall lasts;
//!   a job taken ends the stall. Tasks that block (I/O, waiting for each other) still all
//!   run, as with a thread per task: a barrier of `n` tasks gets its threads after about
//!   log2(`n` / cores) stalls, each usually followed by a millisecond in which the new
//!   workers take their jobs (64 tasks on 2 cores: 5 stalls, about 11 ms here; 1,000: 9,
//!   about 40 ms). And a hiccup (the cores' workers descheduled for a millisecond with
//!   10,000 tiny tasks queued) adds as many workers as there were, not 10,000 threads.
//!   Tiny tasks queue behind the cores' workers instead of costing a wake-up or a thread
//!   each.
//! * The watcher parks while nothing is queued and exits after [`IDLE_TIMEOUT`] of that.
//!
//! Every hand-off is decided under the one lock: a job is pushed and its wake-up claimed (an
//! idle worker's token, or a new worker counted) in the same critical section, and a parked
//! worker decides to exit only under that lock, after checking that no token is left for it.
//! So a job handed to a worker that is timing out is taken by it or by another parked worker,
//! never lost (loom model 10).

use crate::sync::{lock, static_sync, wait_timeout, Condvar, Mutex, ThreadBuilder};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// How long a worker (or the watcher) without work waits before it exits. Under Miri, no
/// time: Miri reports any thread still alive when the main thread ends, and a test process
/// ends right after its last test, so there idle workers leave at once (as a thread per task
/// did) and the pool reuses only workers that find the next job while they look.
pub(crate) const IDLE_TIMEOUT: Duration = if cfg!(miri) {
    Duration::ZERO
} else {
    Duration::from_secs(5)
};

/// How long the queue may stand still, with jobs waiting and no worker coming for them,
/// before the watcher adds workers (at most as many as are alive: see [`State::stall`]).
pub(crate) const STALL: Duration = Duration::from_millis(1);

/// How many times a worker with nothing queued yields and looks again before it parks (one
/// under the model checker, which explores each look).
const SPINS: usize = if cfg!(groupwait_loom) { 1 } else { 8 };

/// A job: a thread task's whole run (its admission ticket, closure and outcome recording).
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    state: Mutex<State>,
    /// Parked workers sleep here.
    work: Condvar,
    /// The watcher sleeps here.
    watch: Condvar,
}

/// Worker threads are counted in exactly one of `idle`, `woken`, `starting`, `looking`,
/// `busy`.
struct State {
    queue: VecDeque<Job>,
    /// Parked workers that no one has woken.
    idle: usize,
    /// Parked workers handed a wake-up (a token) that none of them has taken yet.
    woken: usize,
    /// Workers started and not yet running.
    starting: usize,
    /// Workers awake between jobs (holding the lock: they take the next job or park).
    looking: usize,
    /// Workers running a job.
    busy: usize,
    /// Jobs taken from the queue so far: the watcher's measure of progress.
    taken: u64,
    /// Jobs are queued that no coming worker covers and every core's worker is busy: the
    /// watcher is to check for a stall.
    watching: bool,
    watcher: Watcher,
    /// How many workers a submission wakes at once (the cores), read once.
    cores: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Watcher {
    None,
    Parked,
    Running,
}

/// What a submission (or the watcher) does after the lock.
#[derive(Clone, Copy)]
enum Plan {
    Nothing,
    WakeWorker,
    StartWorker,
    WakeWatcher,
    StartWatcher,
}

static_sync! {
    static POOL: Pool = Pool {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            idle: 0,
            woken: 0,
            starting: 0,
            looking: 0,
            busy: 0,
            taken: 0,
            watching: false,
            watcher: Watcher::None,
            cores: 0,
        }),
        work: Condvar::new(),
        watch: Condvar::new(),
    };
}

/// The pool (a deref of loom's per-execution static under the model checker).
fn pool() -> &'static Pool {
    &POOL
}

impl State {
    /// Workers that will look at the queue without being woken.
    fn coming(&self) -> usize {
        self.woken + self.starting + self.looking
    }

    /// Queued jobs no coming worker covers.
    fn uncovered(&self) -> usize {
        self.queue.len().saturating_sub(self.coming())
    }

    /// Worker threads alive, in whatever state.
    fn workers(&self) -> usize {
        self.idle + self.woken + self.starting + self.looking + self.busy
    }

    /// A stall (jobs uncovered, none taken for a [`STALL`]): claims a worker for each
    /// uncovered job, but at most as many as are alive now (at least one), so that a stall
    /// at most doubles the pool. Tasks blocked on each other get theirs after a few
    /// stalls; a brief hiccup with thousands of tiny jobs queued costs a few threads, not
    /// one per job. Watching goes on while jobs are left uncovered.
    fn stall(&mut self) -> Vec<Plan> {
        let uncovered = self.uncovered();
        let claims = uncovered.min(self.workers().max(1));
        let plans = (0..claims).map(|_| self.add_worker()).collect();
        self.watching = uncovered > claims;
        plans
    }

    /// Claims one more worker: an idle one's token, or a new worker counted as starting.
    fn add_worker(&mut self) -> Plan {
        if self.idle > 0 {
            self.idle -= 1;
            self.woken += 1;
            Plan::WakeWorker
        } else {
            self.starting += 1;
            Plan::StartWorker
        }
    }

    /// After a job was queued: a worker at once while the cores are not all running jobs,
    /// else the watcher.
    fn plan_push(&mut self) -> Plan {
        if self.uncovered() == 0 {
            return Plan::Nothing;
        }
        if self.cores == 0 {
            self.cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        }
        if self.busy + self.coming() < self.cores {
            return self.add_worker();
        }
        if self.watching {
            return Plan::Nothing;
        }
        self.watching = true;
        match self.watcher {
            Watcher::Running => Plan::Nothing,
            Watcher::Parked => Plan::WakeWatcher,
            Watcher::None => {
                self.watcher = Watcher::Running;
                Plan::StartWatcher
            }
        }
    }
}

impl Plan {
    /// Carries the plan out, after the lock. A worker that cannot be started is uncounted;
    /// if no worker is left to take the queued jobs they are dropped (each records its task
    /// as cancelled) and this panics, as `std::thread::spawn` does.
    fn run(self) {
        let pool = pool();
        match self {
            Plan::Nothing => {}
            Plan::WakeWorker => pool.work.notify_one(),
            Plan::WakeWatcher => pool.watch.notify_one(),
            Plan::StartWorker => {
                let started = ThreadBuilder::new()
                    .name("groupwait-task".into())
                    .spawn(work);
                if let Err(error) = started {
                    let orphans = {
                        let mut state = lock(&pool.state);
                        state.starting -= 1;
                        if state.coming() + state.busy + state.idle == 0 {
                            std::mem::take(&mut state.queue)
                        } else {
                            VecDeque::new()
                        }
                    };
                    if !orphans.is_empty() {
                        drop(orphans); // user closures' captures: outside the lock
                        panic!("groupwait: failed to start a task thread: {error}");
                    }
                }
            }
            Plan::StartWatcher => {
                let started = ThreadBuilder::new()
                    .name("groupwait-watcher".into())
                    .spawn(watch);
                if started.is_err() {
                    // Without a watcher, jobs behind busy workers wait for one of them.
                    let mut state = lock(&pool.state);
                    state.watcher = Watcher::None;
                    state.watching = false;
                }
            }
        }
    }
}

/// Queues `job` for a worker.
///
/// # Panics
///
/// If no worker runs and none can be started (the job is dropped first).
pub(crate) fn submit(job: Job) {
    let plan = {
        let mut state = lock(&pool().state);
        state.queue.push_back(job);
        state.plan_push()
    };
    plan.run();
}

/// A worker's life: jobs until none comes for [`IDLE_TIMEOUT`].
fn work() {
    let pool = pool();
    let mut state = lock(&pool.state);
    state.starting -= 1;
    state.looking += 1;
    loop {
        if let Some(job) = state.queue.pop_front() {
            state.looking -= 1;
            state.busy += 1;
            state.taken += 1;
            drop(state);
            run(job);
            state = lock(&pool.state);
            state.busy -= 1;
            state.looking += 1;
            continue;
        }
        // Another job usually follows a tiny one within microseconds: a few yields before
        // parking (still counted as looking, so a submission wakes nobody) save a sleep and
        // a wake-up per job.
        let mut spins = 0;
        while state.queue.is_empty() && spins < SPINS {
            spins += 1;
            drop(state);
            crate::sync::yield_now();
            state = lock(&pool.state);
        }
        if !state.queue.is_empty() {
            continue;
        }
        state.looking -= 1;
        state.idle += 1;
        loop {
            let timed_out;
            (state, timed_out) = wait_timeout(&pool.work, &pool.state, state, IDLE_TIMEOUT);
            // A token is taken by whichever parked worker looks first, timed out or not: the
            // submission that handed it out counts on one parked worker coming, and this is
            // one (the lost hand-off: exiting with a token left would strand its job).
            if state.woken > 0 {
                state.woken -= 1;
                state.looking += 1;
                break;
            }
            if timed_out {
                // No token: `idle` counts this worker (parked = idle + woken, woken = 0).
                state.idle -= 1;
                return;
            }
        }
    }
}

/// Runs one job. A panic that escapes it (the task's own panic is its outcome; this is one
/// from recording it, a waker's) was reported by the hook; the worker goes on.
fn run(job: Job) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    }
}

/// The watcher's life: while jobs wait behind busy workers, a check every [`STALL`] (a job
/// taken since the last one: no stall; none: [`State::stall`]); parked otherwise, and gone
/// after [`IDLE_TIMEOUT`] of that.
fn watch() {
    let pool = pool();
    let mut state = lock(&pool.state);
    loop {
        if !state.watching {
            state.watcher = Watcher::Parked;
            let timed_out;
            (state, timed_out) = wait_timeout(&pool.watch, &pool.state, state, IDLE_TIMEOUT);
            // Decided under the lock a submission sets `watching` under: it either sees
            // `Parked` and wakes this wait, or sees `None` and starts another watcher.
            if !state.watching && timed_out {
                state.watcher = Watcher::None;
                return;
            }
            state.watcher = Watcher::Running;
            continue;
        }
        let seen = state.taken;
        (state, _) = wait_timeout(&pool.watch, &pool.state, state, STALL);
        if state.uncovered() == 0 {
            state.watching = false;
        } else if state.taken == seen {
            let plans = state.stall();
            drop(state);
            for plan in plans {
                // A worker that cannot be started (the process is out of threads) with none
                // left drops the queued jobs (their tasks are recorded, so the waits return)
                // and panics, reported by the hook: the watcher goes on watching, or later
                // stalls would find no watcher (its state says one is running).
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| plan.run())) {
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                }
            }
            state = lock(&pool.state);
        }
    }
}

/// A snapshot of the task pool's threads; see [`pool_threads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolThreads {
    /// Worker threads alive (running a task, between tasks, or parked).
    pub workers: usize,
    /// Of those, the parked ones (they exit after five seconds without a task).
    pub idle: usize,
    /// Whether the watcher thread is alive (it exits after five seconds with nothing queued).
    pub watcher: bool,
}

/// How many threads the pool behind [`TaskGroup::spawn`](super::TaskGroup::spawn) has now (a
/// snapshot, for diagnostics and tests). See the [module docs](super), **Threads**.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::{pool_threads, TaskGroup};
///
/// let group = TaskGroup::<(), ()>::new();
/// group.spawn(|| Ok(()));
/// group.wait().unwrap();
/// let threads = pool_threads();
/// assert!(threads.idle <= threads.workers);
/// ```
#[must_use]
pub fn pool_threads() -> PoolThreads {
    let state = lock(&pool().state);
    PoolThreads {
        workers: state.workers(),
        idle: state.idle + state.woken,
        watcher: state.watcher != Watcher::None,
    }
}
