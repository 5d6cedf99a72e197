//! Per-task overhead of `groupwait::task_group::TaskGroup` against the peers, for the same
//! trivial work (each task returns its index), side by side in one run.
//!
//! * `async`: one round = 10,000 tokio tasks, then one await until all finished; timed inside
//!   a task on a current-thread runtime and on a two-worker multi-thread runtime.
//!   - `TaskGroup`: `tokio::spawn(group.track(async move { Ok(i) }))`, `group.wait_async()`
//!     (values collected in submission order);
//!   - `JoinSet`: `spawn`, then `join_next` until empty (values in completion order);
//!   - `TaskTracker`: `spawn`, `close`, `wait` (no values);
//!   - `WaitGroup::track_owned` + `wait_async` (no values): the floor the group is built on;
//!   - `TaskGroup<()>` with the values dropped: `track(async { Ok(()) })`.
//! * `threads`: one round = 100 threads, each returning its index, joined.
//!   - `thread::scope`: `s.spawn`, join every handle for its value;
//!   - `TaskGroup` scoped: `group.spawn_scoped(s, ..)`, `group.wait()`;
//!   - `TaskGroup` static: `group.spawn(..)`, `group.wait()`.
//!
//! Each cell is 15 rounds (after 3 warm-up rounds), rounds of the cells of a shape alternate,
//! and the median round is reported as ns per task, with the ratio to the shape's reference
//! (`JoinSet` for async, `thread::scope` for threads). `cargo bench --bench task_group`.

use groupwait::task_group::TaskGroup;
use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;

const ROUNDS: usize = 15;
const WARMUP: usize = 3;
const ASYNC_TASKS: usize = 10_000;
const THREADS: usize = 100;

type Round = Box<dyn Fn() -> Duration>;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs the cells of one shape, rounds alternating, and prints medians and ratios to the
/// first cell.
fn shape(title: &str, tasks: usize, cells: Vec<(&str, Round)>) {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cells.len()];
    for round in 0..WARMUP + ROUNDS {
        for (i, (_, run)) in cells.iter().enumerate() {
            let time = run();
            if round >= WARMUP {
                samples[i].push(time);
            }
        }
    }
    let medians: Vec<f64> = samples
        .into_iter()
        .map(|s| median(s).as_nanos() as f64 / tasks as f64)
        .collect();
    println!("\n{title} ({tasks} tasks per round, median of {ROUNDS} rounds)");
    println!("| implementation | ns per task | ratio to {} |", cells[0].0);
    println!("|---|---:|---:|");
    for ((name, _), ns) in cells.iter().zip(&medians) {
        println!("| {name} | {ns:.0} | {:.2} |", ns / medians[0]);
    }
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .build()
            .unwrap()
    }
}

/// Times `round` inside a task of `rt` (so spawns are local to the runtime).
fn in_task<F, Fut>(rt: &tokio::runtime::Runtime, round: F) -> Duration
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let fut = round();
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            fut.await;
            start.elapsed()
        })
        .await
        .unwrap()
    })
}

fn async_cells(threads: usize) -> Vec<(&'static str, Round)> {
    let rt = std::sync::Arc::new(runtime(threads));
    let joinset = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let mut set = JoinSet::new();
                for i in 0..ASYNC_TASKS {
                    set.spawn(async move { i });
                }
                while let Some(v) = set.join_next().await {
                    black_box(v.unwrap());
                }
            })
        }
    };
    let tracker = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let tracker = TaskTracker::new();
                for i in 0..ASYNC_TASKS {
                    tracker.spawn(async move { black_box(i) });
                }
                tracker.close();
                tracker.wait().await;
            })
        }
    };
    let group = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let group = TaskGroup::<usize, Infallible>::new();
                for i in 0..ASYNC_TASKS {
                    tokio::spawn(group.track(async move { Ok(i) }));
                }
                black_box(group.wait_async().await.unwrap());
            })
        }
    };
    let unit = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let group = TaskGroup::<(), Infallible>::new();
                for _ in 0..ASYNC_TASKS {
                    tokio::spawn(group.track(async { Ok(()) }));
                }
                black_box(group.wait_async().await.unwrap());
            })
        }
    };
    let wait_group = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let wg = std::sync::Arc::new(groupwait::WaitGroup::new());
                for i in 0..ASYNC_TASKS {
                    tokio::spawn(wg.track_owned(async move { black_box(i) }));
                }
                wg.wait_async().await;
            })
        }
    };
    vec![
        ("JoinSet", Box::new(joinset) as Round),
        ("TaskTracker", Box::new(tracker)),
        ("WaitGroup::track_owned", Box::new(wait_group)),
        ("TaskGroup<usize>", Box::new(group)),
        ("TaskGroup<()>", Box::new(unit)),
    ]
}

fn thread_cells() -> Vec<(&'static str, Round)> {
    let scope = || {
        let start = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS).map(|i| s.spawn(move || i)).collect();
            for h in handles {
                black_box(h.join().unwrap());
            }
        });
        start.elapsed()
    };
    let scoped = || {
        let start = Instant::now();
        let group = TaskGroup::<usize, Infallible>::new();
        std::thread::scope(|s| {
            for i in 0..THREADS {
                group.spawn_scoped(s, move || Ok(i));
            }
            black_box(group.wait().unwrap());
        });
        start.elapsed()
    };
    let owned = || {
        let start = Instant::now();
        let group = TaskGroup::<usize, Infallible>::new();
        for i in 0..THREADS {
            group.spawn(move || Ok(i));
        }
        black_box(group.wait().unwrap());
        start.elapsed()
    };
    vec![
        ("thread::scope", Box::new(scope) as Round),
        ("TaskGroup::spawn_scoped", Box::new(scoped)),
        ("TaskGroup::spawn", Box::new(owned)),
    ]
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments: do one quick
    // pass only when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    shape("async, current-thread runtime", ASYNC_TASKS, async_cells(1));
    shape(
        "async, multi-thread runtime (2 workers)",
        ASYNC_TASKS,
        async_cells(2),
    );
    shape("threads", THREADS, thread_cells());
}
