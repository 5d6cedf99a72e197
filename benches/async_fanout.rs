//! Async fan-out: one round is 10,000 tokio tasks, each counted in the group, then one await
//! until all finished. The same use on every side.
//!
//! groupwait: `spawn(wg.track_owned(async {}))` and `wg.wait_async()`; tokio-util's
//! `TaskTracker` (`spawn`, `close`, `wait`); a `JoinSet` (`spawn`, then `join_next` until
//! empty); and a `Vec<JoinHandle>` awaited in turn. The round runs inside a task (as a server
//! would spawn: a worker's local queue, not the runtime's injection queue), on a current-thread
//! runtime (threads = 1) and on a two-worker multi-thread runtime (threads = 2).
//!
//! The order of the implementations changes each round, so that each comes after each other
//! one equally often (`interleave_balanced`): a round frees 10,000 task cells, and the
//! allocator state it leaves moved the round after it by up to 10 % either way (with the
//! order fixed, groupwait/TaskTracker read 0.89 on one thread and 1.09 on two; with the two
//! swapped, 1.03 and 0.93).
//!
//! ```text
//! cargo bench -p benches --bench async_fanout  # 48 rounds per implementation and runtime
//! cargo bench -p benches --bench async_fanout -- --quick
//! ```

use benches::{interleave_balanced, Opts, Sink};
use groupwait::WaitGroup;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Runtime};

/// Tasks per round.
const TASKS: usize = 10_000;

fn main() {
    let opts = Opts::parse();
    let mut sink = Sink::new(opts.out.clone());
    let cell = format!("{TASKS} tasks");
    if !opts.selects(&cell) {
        return;
    }
    let runtimes = [
        (1, Builder::new_current_thread().build()),
        (2, Builder::new_multi_thread().worker_threads(2).build()),
    ];
    let names = ["groupwait", "TaskTracker", "JoinSet", "JoinHandles"];
    for (threads, rt) in runtimes {
        let rt = rt.expect("a tokio runtime");
        for i in 0..names.len() {
            round(&rt, i); // warm-up: the runtime's queues and the tables grow once
        }
        // 48: a multiple of the 4 implementations, so each follows each other one equally
        // often; three times the 16 of the first version, because the groupwait/TaskTracker
        // ratio of one run of 16 spread over about 10 % (quartiles of 15 runs: 5 %).
        let samples = interleave_balanced(opts.reps(48), names.len(), |i, out| {
            out.push(round(&rt, i).as_nanos() as f64);
        });
        for (name, s) in names.iter().zip(&samples) {
            sink.record("async", &cell, threads, name, s);
        }
    }
}

/// One round of implementation `i` (in the order of `main`'s names), inside a task.
fn round(rt: &Runtime, i: usize) -> Duration {
    rt.block_on(async move {
        tokio::spawn(async move {
            match i {
                0 => with_groupwait().await,
                1 => with_task_tracker().await,
                2 => with_join_set().await,
                _ => with_join_handles().await,
            }
        })
        .await
        .expect("the round does not panic")
    })
}

async fn with_groupwait() -> Duration {
    let wg = Arc::new(WaitGroup::new());
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tokio::spawn(wg.track_owned(async {})));
    }
    wg.wait_async().await;
    start.elapsed()
}

async fn with_task_tracker() -> Duration {
    let tracker = tokio_util::task::TaskTracker::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        drop(tracker.spawn(async {}));
    }
    tracker.close();
    tracker.wait().await;
    start.elapsed()
}

async fn with_join_set() -> Duration {
    let mut set = tokio::task::JoinSet::new();
    let start = Instant::now();
    for _ in 0..TASKS {
        set.spawn(async {});
    }
    while let Some(done) = set.join_next().await {
        done.expect("the task does not panic");
    }
    start.elapsed()
}

async fn with_join_handles() -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS).map(|_| tokio::spawn(async {})).collect();
    for h in handles {
        h.await.expect("the task does not panic");
    }
    start.elapsed()
}
