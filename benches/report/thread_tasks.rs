//! Thread tasks on the task pool (issue 21, part 2): the `task_group` bench's thread shapes
//! (rounds of 100 and 1,000 tiny tasks), ns per task, each row's ratio to `rayon::scope`, and
//! the target judged: `TaskGroup::spawn` at most 4x `rayon::scope` per task.

use crate::data::Data;
use crate::format::{ns, ratio};
use std::fmt::Write as _;

const SECTION: &str = "task-group-threads";
const ROUNDS: [usize; 2] = [100, 1_000];
const RAYON: &str = "rayon::scope (pool)";
/// Issue 21's bound on a pool task's cost, in `rayon::scope` tasks.
const TARGET: f64 = 4.0;

/// The rows, in the bench's order, with what each runs on.
const ROWS: [(&str, &str); 5] = [
    (
        "thread::scope",
        "a scoped OS thread per task, each handle joined",
    ),
    ("TaskGroup::spawn_scoped", "a scoped OS thread per task"),
    ("TaskGroup::spawn", "the task pool's reused workers"),
    (
        "TaskGroup::with_limit(cores) + spawn",
        "the pool, at most one task per core at once (the spawner waits for a slot)",
    ),
    (RAYON, "rayon's global pool (one worker per core)"),
];

/// ns per task of one cell.
fn per_task(d: &Data, tasks: usize, imp: &str) -> Option<f64> {
    d.median(SECTION, &format!("{tasks} tasks"), 2, imp)
        .map(|v| v / tasks as f64)
}

/// Writes the section; nothing if the thread shapes were not recorded.
pub fn section(w: &mut String, d: &Data) {
    if ROUNDS.iter().all(|&n| per_task(d, n, RAYON).is_none()) {
        return;
    }
    writeln!(w, "## Thread tasks on the pool (issue 21, part 2)\n").unwrap();
    writeln!(
        w,
        "Tiny thread tasks (each returns its index), ns per task: the median round over the \
         tasks per round (`cargo bench -p benches --bench task_group -- threads`), rounds of \
         the rows alternating. The target: `TaskGroup::spawn` at most {TARGET}x `rayon::scope` \
         per task in rounds of 100 and of 1,000.\n"
    )
    .unwrap();
    writeln!(
        w,
        "| implementation | runs on | 100 a round | /rayon | 1,000 a round | /rayon |\n|---|---|---:|---:|---:|---:|"
    )
    .unwrap();
    let rayon = ROUNDS.map(|n| per_task(d, n, RAYON));
    for (imp, runs_on) in ROWS {
        let [a, b] = ROUNDS.map(|n| per_task(d, n, imp));
        writeln!(
            w,
            "| `{imp}` | {runs_on} | {} | {} | {} | {} |",
            ns(a),
            ratio(a, rayon[0]),
            ns(b),
            ratio(b, rayon[1])
        )
        .unwrap();
    }
    let verdicts: Vec<String> = ROUNDS
        .iter()
        .zip(rayon)
        .map(|(&n, r)| match (per_task(d, n, "TaskGroup::spawn"), r) {
            (Some(g), Some(r)) if g <= TARGET * r => {
                format!("met at {n} a round ({:.1}x)", g / r)
            }
            (Some(g), Some(r)) => format!("missed at {n} a round ({:.1}x)", g / r),
            _ => format!("not measured at {n} a round"),
        })
        .collect();
    writeln!(
        w,
        "\nTarget (`TaskGroup::spawn` <= {TARGET}x `rayon::scope`): {}.\n",
        verdicts.join("; ")
    )
    .unwrap();
}
