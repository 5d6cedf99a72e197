//! The async fan-out sweep of captured state (issue 21): `track_owned` against `TaskTracker`
//! (the `async_fanout` bench) and `TaskGroup` against `JoinSet` (the `task_group` bench's
//! `sweep`), ns per task and the bytes each implementation hands to `spawn`, per size.

use crate::data::Data;
use crate::format::{ns, ratio};
use benches::{state_cell, STATE_SIZES};
use std::fmt::Write as _;

/// Tasks per round of both benches.
const TASKS: usize = 10_000;

const RUNTIMES: [(usize, &str); 2] = [(1, "current-thread"), (2, "multi-thread, 2 workers")];

/// ns per task of one cell (the median round over the tasks per round).
fn per_task(d: &Data, section: &str, bytes: usize, threads: usize, imp: &str) -> Option<f64> {
    d.median(section, &state_cell(TASKS, bytes), threads, imp)
        .map(|v| v / TASKS as f64)
}

/// The bytes `imp` hands to `spawn` for one task with `bytes` of state.
fn spawned(d: &Data, section: &str, bytes: usize, imp: &str) -> String {
    d.median(section, &state_cell(TASKS, bytes), 0, imp)
        .map_or("n/a".into(), |b| format!("{b:.0}"))
}

/// Writes the section; nothing if neither bench's sweep was run.
pub fn section(w: &mut String, d: &Data) {
    let has = |section: &str| {
        STATE_SIZES
            .iter()
            .any(|&b| d.count(section, &state_cell(TASKS, b), 1, "JoinSet") > 0)
    };
    let (fanout, group) = (has("async"), has("task-group"));
    if !fanout && !group {
        return;
    }
    writeln!(w, "## Async fan-out by captured state (issue 21)\n").unwrap();
    writeln!(
        w,
        "Each task's future captures 0 to 1,024 bytes of state; ns per task (the median round \
         of 10,000 tasks, inside a task, over 10,000), and the bytes each implementation hands \
         to `spawn` (`size_of_val` of the spawned future: a tokio task's cell grows with it). \
         A wrapper that holds the future twice pays for it in every spawn, more as the state \
         grows.\n"
    )
    .unwrap();
    if fanout {
        writeln!(
            w,
            "`WaitGroup::track_owned` + `wait_async` against tokio-util's `TaskTracker` \
             (`cargo bench -p benches --bench async_fanout`, the same rounds as the section \
             above, one cell per size; 0 bytes is that section's cell):\n"
        )
        .unwrap();
        writeln!(
            w,
            "| state (bytes) | runtime | groupwait | TaskTracker | JoinSet | groupwait/TaskTracker | bytes spawned: groupwait / TaskTracker / JoinSet |\n|---:|---|---:|---:|---:|---:|---|"
        )
        .unwrap();
        for bytes in STATE_SIZES {
            for (t, runtime) in RUNTIMES {
                let [gw, tt, js] = ["groupwait", "TaskTracker", "JoinSet"]
                    .map(|i| per_task(d, "async", bytes, t, i));
                writeln!(
                    w,
                    "| {bytes} | {runtime} | {} | {} | {} | {} | {} / {} / {} |",
                    ns(gw),
                    ns(tt),
                    ns(js),
                    ratio(gw, tt),
                    spawned(d, "async-bytes", bytes, "groupwait"),
                    spawned(d, "async-bytes", bytes, "TaskTracker"),
                    spawned(d, "async-bytes", bytes, "JoinSet"),
                )
                .unwrap();
            }
        }
        writeln!(w).unwrap();
    }
    if group {
        writeln!(
            w,
            "`TaskGroup<usize>` (`track`, `wait_async`, values in submission order) against \
             `JoinSet` (`spawn`, `join_next`) (`cargo bench -p benches --bench task_group -- \
             sweep`):\n"
        )
        .unwrap();
        writeln!(
            w,
            "| state (bytes) | runtime | JoinSet | TaskGroup | TaskGroup/JoinSet | bytes spawned: JoinSet / TaskGroup |\n|---:|---|---:|---:|---:|---|"
        )
        .unwrap();
        for bytes in STATE_SIZES {
            for (t, runtime) in RUNTIMES {
                let js = per_task(d, "task-group", bytes, t, "JoinSet");
                let tg = per_task(d, "task-group", bytes, t, "TaskGroup<usize>");
                writeln!(
                    w,
                    "| {bytes} | {runtime} | {} | {} | {} | {} / {} |",
                    ns(js),
                    ns(tg),
                    ratio(tg, js),
                    spawned(d, "task-group-bytes", bytes, "JoinSet"),
                    spawned(d, "task-group-bytes", bytes, "TaskGroup<usize>"),
                )
                .unwrap();
            }
        }
        writeln!(w).unwrap();
    }
}
