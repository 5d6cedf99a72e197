//! What the report leads with: the comparisons where both sides make the same calls first,
//! then the shapes where one side's design forces extra work, labelled as such. The chart
//! draws these rows and BENCHMARKS.md tabulates them, so the two always agree.

use crate::data::Data;

/// Tokio tasks per round of the `async_fanout` bench.
const TASKS: f64 = 10_000.0;

/// Whose bar it is: decides its colour in the chart and its column in the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Groupwait,
    Peer,
    /// The hardware or kernel limit of the shape (a bare atomic, a raw futex, spawn + join).
    Floor,
}

/// One implementation's median in a row.
pub struct Bar {
    pub name: &'static str,
    pub side: Side,
    pub value: Option<f64>,
}

/// One comparison: what is done, a note on how, and each implementation's time.
pub struct Row {
    pub label: &'static str,
    pub note: &'static str,
    pub bars: Vec<Bar>,
}

impl Row {
    /// groupwait's median in this row.
    pub fn groupwait(&self) -> Option<f64> {
        self.bars
            .iter()
            .find(|b| b.side == Side::Groupwait)
            .and_then(|b| b.value)
    }
}

/// A titled group of rows.
pub struct Section {
    pub title: &'static str,
    pub rows: Vec<Row>,
}

fn bar(name: &'static str, side: Side, value: Option<f64>) -> Bar {
    Bar { name, side, value }
}

/// The two sections: like for like, then forced extra work.
pub fn sections(d: &Data) -> [Section; 2] {
    let shape = |s: &str, t: usize, imp: &str| d.median("shapes", s, t, imp);
    let wake = |imp: &str| d.median("wake", "sleeping waiter", 2, imp);
    let task = |t: usize, imp: &str| d.median("async", "10000 tasks", t, imp).map(|v| v / TASKS);
    let add_done = |t| {
        vec![
            bar(
                "groupwait",
                Side::Groupwait,
                shape("AddDone", t, "groupwait"),
            ),
            bar("Go", Side::Peer, d.go_median("AddDone", t)),
            bar(
                "crossbeam-utils",
                Side::Peer,
                shape("AddDone", t, "crossbeam"),
            ),
            bar("Mutex+Condvar", Side::Peer, shape("AddDone", t, "condvar")),
            bar("bare atomic", Side::Floor, shape("AddDone", t, "atomic")),
        ]
    };
    let tasks = |t| {
        vec![
            bar("groupwait", Side::Groupwait, task(t, "groupwait")),
            bar("TaskTracker", Side::Peer, task(t, "TaskTracker")),
            bar("JoinSet", Side::Peer, task(t, "JoinSet")),
            bar("Vec<JoinHandle>", Side::Peer, task(t, "JoinHandles")),
        ]
    };
    let handoff = "ActuallyWait (hand-off)";
    let fresh = "ActuallyWait (fresh thread)";
    let like_for_like = Section {
        title: "Like for like: the same calls on each side",
        rows: vec![
            Row {
                label: "add(1); done() on one shared group, 1 thread",
                note: "Go's AddDone; crossbeam-utils clones and drops a handle",
                bars: add_done(1),
            },
            Row {
                label: "add(1); done() on one shared group, 2 threads",
                note: "both cores write one cache line",
                bars: add_done(2),
            },
            Row {
                label: "wait() on an idle group",
                note: "Go's Wait, 1 thread; crossbeam-utils has no wait that keeps the group",
                bars: vec![
                    bar("groupwait", Side::Groupwait, shape("Wait", 1, "groupwait")),
                    bar("Go", Side::Peer, d.go_median("Wait", 1)),
                    bar("Mutex+Condvar", Side::Peer, shape("Wait", 1, "condvar")),
                    bar("bare atomic", Side::Floor, shape("Wait", 1, "atomic")),
                ],
            },
            Row {
                label: "hand a round to a thread that is already running",
                note: "add(1), signal the worker, wait; the worker calls done",
                bars: vec![
                    bar("groupwait", Side::Groupwait, shape(handoff, 1, "groupwait")),
                    bar("Mutex+Condvar", Side::Peer, shape(handoff, 1, "condvar")),
                    bar("bare atomic", Side::Floor, shape(handoff, 1, "atomic")),
                ],
            },
            Row {
                label: "wake a waiter that sleeps in the kernel",
                note: "from the last done until wait returns on the other thread",
                bars: vec![
                    bar("groupwait", Side::Groupwait, wake("groupwait")),
                    bar("crossbeam-utils", Side::Peer, wake("crossbeam")),
                    bar("Mutex+Condvar", Side::Peer, wake("condvar")),
                    bar("raw futex", Side::Floor, wake("futex")),
                ],
            },
            Row {
                label: "10,000 tokio tasks, then one await: per task",
                note: "current-thread runtime",
                bars: tasks(1),
            },
            Row {
                label: "10,000 tokio tasks, then one await: per task",
                note: "multi-thread runtime, 2 workers",
                bars: tasks(2),
            },
        ],
    };
    let extra_work = Section {
        title: "Where one side's design forces extra work",
        rows: vec![
            Row {
                label: "add(1); done(); wait() on a private group",
                note: "Go's Uncontended, 1 thread; crossbeam-utils' wait consumes its group, \
                       so it must build a new one (a heap allocation) every round",
                bars: vec![
                    bar(
                        "groupwait",
                        Side::Groupwait,
                        shape("Uncontended", 1, "groupwait"),
                    ),
                    bar("Go", Side::Peer, d.go_median("Uncontended", 1)),
                    bar(
                        "crossbeam-utils",
                        Side::Peer,
                        shape("Uncontended", 1, "crossbeam"),
                    ),
                    bar(
                        "Mutex+Condvar",
                        Side::Peer,
                        shape("Uncontended", 1, "condvar"),
                    ),
                    bar(
                        "bare atomic",
                        Side::Floor,
                        shape("Uncontended", 1, "atomic"),
                    ),
                ],
            },
            Row {
                label: "hand a round to a running thread, crossbeam-utils",
                note: "a new crossbeam-utils group every round, for the same reason",
                bars: vec![
                    bar("groupwait", Side::Groupwait, shape(handoff, 1, "groupwait")),
                    bar(
                        "crossbeam-utils",
                        Side::Peer,
                        shape(handoff, 1, "crossbeam"),
                    ),
                ],
            },
            Row {
                label: "a new thread per round: add(1), spawn, wait",
                note: "Go's ActuallyWait, 1 thread: Go starts a goroutine (no kernel), \
                       Rust an OS thread",
                bars: vec![
                    bar("groupwait", Side::Groupwait, shape(fresh, 1, "groupwait")),
                    bar("Go (goroutine)", Side::Peer, d.go_median("ActuallyWait", 1)),
                    bar("crossbeam-utils", Side::Peer, shape(fresh, 1, "crossbeam")),
                    bar("Mutex+Condvar", Side::Peer, shape(fresh, 1, "condvar")),
                    bar("spawn + join", Side::Floor, shape(fresh, 1, "atomic")),
                ],
            },
        ],
    };
    [like_for_like, extra_work]
}
