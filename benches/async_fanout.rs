//! Async fan-out: one round is 10,000 tokio tasks, each counted in the group, then one await
//! until all finished. The same use on every side.
//!
//! groupwait: `spawn(wg.track_owned(fut))` and `wg.wait_async()`; tokio-util's `TaskTracker`
//! (`spawn`, `close`, `wait`); a `JoinSet` (`spawn`, then `join_next` until empty); and a
//! `Vec<JoinHandle>` awaited in turn. The round runs inside a task (as a server would spawn: a
//! worker's local queue, not the runtime's injection queue), on a current-thread runtime
//! (threads = 1) and on a two-worker multi-thread runtime (threads = 2).
//!
//! The sweep (issue 21): each task's future captures 0, 16, 64, 256 or 1,024 bytes of state
//! (`benches::State`), one cell per size (`10000 tasks` is 0 bytes, the cell this bench had
//! before the sweep; the others are `10000 tasks, N B state`). A wrapper that holds the
//! future twice pays for it in every spawn's copy and in the task's allocation, more as the
//! state grows. The bytes each implementation hands to `spawn` (`size_of_val` of the spawned
//! future) are printed and recorded too (section `async-bytes`).
//!
//! The order of the implementations changes each round, so that each comes after each other
//! one equally often (`interleave_balanced`): a round frees 10,000 task cells, and the
//! allocator state it leaves moved the round after it by up to 10 % either way (with the
//! order fixed, groupwait/TaskTracker read 0.89 on one thread and 1.09 on two; with the two
//! swapped, 1.03 and 0.93).
//!
//! ```text
//! cargo bench -p benches --bench async_fanout                 # 48 rounds per implementation, size and runtime
//! cargo bench -p benches --bench async_fanout -- --quick
//! cargo bench -p benches --bench async_fanout -- "256 B"      # one size (a filter on the cell's name)
//! ```

use benches::{interleave_balanced, state_cell, with_state_size, Opts, Sink, State, STATE_SIZES};
use groupwait::WaitGroup;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};

/// Tasks per round.
const TASKS: usize = 10_000;

/// The implementations, in the order `round` takes them.
const NAMES: [&str; 4] = ["groupwait", "TaskTracker", "JoinSet", "JoinHandles"];

fn main() {
    let opts = Opts::parse();
    let mut sink = Sink::new(opts.out.clone());
    let sizes: Vec<usize> = STATE_SIZES
        .into_iter()
        .filter(|&bytes| opts.selects(&state_cell(TASKS, bytes)))
        .collect();
    for &bytes in &sizes {
        let cell = state_cell(TASKS, bytes);
        for (name, size) in NAMES
            .iter()
            .zip(with_state_size!(bytes, N => spawned_sizes::<N>()))
        {
            sink.record_bytes("async-bytes", &cell, name, size);
        }
    }
    let runtimes = [
        (1, Builder::new_current_thread().build()),
        (2, Builder::new_multi_thread().worker_threads(2).build()),
    ];
    for (threads, rt) in runtimes {
        let rt = rt.expect("a tokio runtime");
        for &bytes in &sizes {
            let cell = state_cell(TASKS, bytes);
            for i in 0..NAMES.len() {
                round(&rt, i, bytes); // warm-up: the runtime's queues and the tables grow once
            }
            // 48: a multiple of the 4 implementations, so each follows each other one equally
            // often; three times the 16 of the first version, because the groupwait/TaskTracker
            // ratio of one run of 16 spread over about 10 % (quartiles of 15 runs: 5 %).
            let samples = interleave_balanced(opts.reps(48), NAMES.len(), |i, out| {
                out.push(round(&rt, i, bytes).as_nanos() as f64);
            });
            for (name, s) in NAMES.iter().zip(&samples) {
                sink.record("async", &cell, threads, name, s);
            }
        }
    }
}

/// The task a round spawns, with `N` bytes of captured state.
fn job<const N: usize>() -> impl Future<Output = ()> + Send + 'static {
    let state = State::<N>::new();
    async move { state.touch() }
}

/// What each implementation hands to `spawn` for one task, in bytes (`NAMES`' order).
fn spawned_sizes<const N: usize>() -> [usize; 4] {
    let wg = Arc::new(WaitGroup::new());
    let tracker = tokio_util::task::TaskTracker::new();
    [
        size_of_val(&wg.track_owned(job::<N>())),
        size_of_val(&tracker.track_future(job::<N>())),
        size_of_val(&job::<N>()),
        size_of_val(&job::<N>()),
    ]
}

/// One round of implementation `i` (in the order of `NAMES`), inside a task.
fn round(rt: &Runtime, i: usize, bytes: usize) -> Duration {
    rt.block_on(async move {
        tokio::spawn(async move {
            with_state_size!(bytes, N => match i {
                0 => with_groupwait::<N>().await,
                1 => with_task_tracker::<N>().await,
                2 => with_join_set::<N>().await,
                _ => with_join_handles::<N>().await,
            })
        })
        .await
        .expect("the round does not panic")
    })
}

async fn with_groupwait<const N: usize>() -> Duration {
    let wg = Arc::new(WaitGroup::new());
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tokio::spawn(wg.track_owned(job::<N>())));
    }
    wg.wait_async().await;
    start.elapsed()
}

async fn with_task_tracker<const N: usize>() -> Duration {
    let tracker = tokio_util::task::TaskTracker::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tracker.spawn(job::<N>()));
    }
    tracker.close();
    tracker.wait().await;
    start.elapsed()
}

async fn with_join_set<const N: usize>() -> Duration {
    let mut set = tokio::task::JoinSet::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        set.spawn(job::<N>());
    }
    while let Some(done) = set.join_next().await {
        done.expect("the task does not panic");
    }
    start.elapsed()
}

async fn with_join_handles<const N: usize>() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(job::<N>())).collect();
    for h in handles {
        h.await.expect("the task does not panic");
    }
    start.elapsed()
}
