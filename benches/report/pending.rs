//! Many pending `wait_async` futures on one group against `TaskTracker::wait()` (the
//! `pending_waiters` bench; issue 9, and issue 21's part 3): ns per future, per operation and
//! number of pending futures.

use crate::data::Data;
use crate::format::{group_digits, ns, ratio};
use std::fmt::Write as _;

/// The numbers of pending futures measured.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// The operations, as the bench names its cells, and what each measures.
const OPERATIONS: [(&str, &str); 5] = [
    ("register", "N futures made and polled once each (pending)"),
    ("release", "the release alone, waking the N"),
    (
        "cancel+re-register",
        "the 1,000 most recent dropped and re-created",
    ),
    (
        "completion",
        "the release, every future polled to ready and dropped",
    ),
    ("drop pending", "the N pending futures dropped"),
];

/// The operations issue 21 (part 3) sets a target for: within 1.5x `TaskTracker` at 10,000 and
/// 100,000 pending futures.
pub const TARGETED: [&str; 3] = ["register", "release", "cancel+re-register"];

/// The median ns per future of `imp` for `operation` at `n` pending futures.
pub fn per_future(d: &Data, operation: &str, n: usize, imp: &str) -> Option<f64> {
    d.median("pending", &format!("{operation} {n}"), 1, imp)
}

/// Writes the section; nothing if the bench was not run.
pub fn section(w: &mut String, d: &Data) {
    if per_future(d, "register", SIZES[0], "TaskTracker").is_none() {
        return;
    }
    writeln!(w, "## Many pending async waiters (issue 21, part 3)\n").unwrap();
    writeln!(
        w,
        "N `wait_async` futures pending on one group against N `TaskTracker::wait()` futures \
         on one closed tracker (`cargo bench -p benches --bench pending_waiters`), polled by \
         hand with a no-op waker, both sides boxed; ns per future, medians of the samples, the \
         two sides' samples interleaved. The target: register, release and cancel + re-register \
         within 1.5x `TaskTracker` at 10,000 and 100,000 (the targets table above).\n"
    )
    .unwrap();
    writeln!(
        w,
        "| operation | N | groupwait | TaskTracker | ratio | groupwait unboxed |\n\
         |---|---:|---:|---:|---:|---:|"
    )
    .unwrap();
    for (operation, what) in OPERATIONS {
        for n in SIZES {
            let gw = per_future(d, operation, n, "groupwait");
            let tt = per_future(d, operation, n, "TaskTracker");
            let unboxed = per_future(d, operation, n, "groupwait unboxed");
            writeln!(
                w,
                "| {operation}: {what} | {} | {} | {} | {} | {} |",
                group_digits(n as u64),
                ns(gw),
                ns(tt),
                ratio(gw, tt),
                unboxed.map_or("".into(), |u| ns(Some(u))),
            )
            .unwrap();
        }
    }
    let unrelated: Vec<String> = SIZES
        .iter()
        .map(|&n| ns(per_future(d, "unrelated release", n, "groupwait")))
        .collect();
    writeln!(
        w,
        "\nAn unrelated group's release while the N wait (the slowest of 65 other groups' \
         release of one pending future each, ns): {} at N = 1,000, 10,000 and 100,000.\n",
        unrelated.join(", ")
    )
    .unwrap();
}
