//! A long line at a task group's limit (issue 20, item 4): 8,000 tokio tasks on a
//! current-thread runtime, each waiting for a slot of a limit of 2 (`track_async`), then
//! holding it across one yield; against tokio's `Semaphore` in the same shape (`acquire`, one
//! yield, drop the permit). Before the limit handed a freed slot to one waiter, every release
//! woke every waiter: 8,000 tasks took 16 million admission polls and seconds.
//!
//! Rounds of the two alternate (3 warm-up rounds, then 15 each); the median round is printed
//! with the ratio. `cargo bench -p benches --bench limit_queue`.

use groupwait::task_group::TaskGroup;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const TASKS: usize = 8_000;
const LIMIT: usize = 2;
const ROUNDS: usize = 15;
const WARMUP: usize = 3;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// One round of the task group: every task waits in line for a slot, then yields once.
fn task_group(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let group = Arc::new(TaskGroup::<(), ()>::with_limit(LIMIT));
        let start = Instant::now();
        let mut handles = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let group = Arc::clone(&group);
            handles.push(tokio::spawn(async move {
                let task = group
                    .track_async(async {
                        tokio::task::yield_now().await;
                        Ok(())
                    })
                    .await;
                task.await;
            }));
        }
        // Every task admitted and run (a wait before the tasks were admitted would close the
        // group on its empty start).
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(group.wait_async().await.unwrap().len(), TASKS);
        start.elapsed()
    })
}

/// One round of tokio's `Semaphore`: every task waits for a permit, then yields once.
fn semaphore(rt: &tokio::runtime::Runtime) -> Duration {
    rt.block_on(async {
        let semaphore = Arc::new(Semaphore::new(LIMIT));
        let start = Instant::now();
        let mut handles = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let semaphore = Arc::clone(&semaphore);
            handles.push(tokio::spawn(async move {
                let _permit = semaphore.acquire().await.unwrap();
                tokio::task::yield_now().await;
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rt = runtime();
    let (mut group_samples, mut semaphore_samples) = (Vec::new(), Vec::new());
    for round in 0..WARMUP + ROUNDS {
        let (g, s) = (task_group(&rt), semaphore(&rt));
        if round >= WARMUP {
            group_samples.push(g);
            semaphore_samples.push(s);
        }
    }
    let (g, s) = (median(group_samples), median(semaphore_samples));
    println!(
        "\n{TASKS} tasks in line at a limit of {LIMIT}, current-thread runtime, median of {ROUNDS} rounds"
    );
    println!("| implementation | ms per round | ns per task | ratio to Semaphore |");
    println!("|---|---:|---:|---:|");
    for (name, time) in [("tokio Semaphore", s), ("TaskGroup::track_async", g)] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.2} |",
            time.as_secs_f64() * 1e3,
            time.as_nanos() as f64 / TASKS as f64,
            time.as_secs_f64() / s.as_secs_f64()
        );
    }
}
