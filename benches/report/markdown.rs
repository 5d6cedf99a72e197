//! BENCHMARKS.md: the lead (the same rows as the chart, like for like first), then the
//! machine, the targets and every table in full, and the method.

use crate::data::{Data, SHAPES};
use crate::format::{ns, ratio, time, us};
use crate::rows::{Row, Section, Side};
use crate::targets::{analysis, targets};
use benches::quantile;
use std::fmt::Write as _;

/// One line about the machine and its load, for the chart's subtitle and the lead.
pub fn machine_line(d: &Data) -> String {
    let load = d.machine("load");
    let load_start = load.split_whitespace().next().unwrap_or("?");
    let mut line = format!(
        "{} cores ({}), {}; 1-minute load average {} at the start",
        d.machine("cores"),
        d.machine("cpu"),
        d.machine("date"),
        load_start
    );
    if busy(d).is_some() {
        line.push_str(" (a busy machine: noisy)");
    }
    let note = d.machine("note");
    if note != "?" && !note.is_empty() {
        write!(line, "; {note}").unwrap();
    }
    line
}

/// The cells of one lead row: groupwait, the peers, the floor.
fn lead_cells(row: &Row) -> [String; 3] {
    let cell = |side: Side, named: bool| {
        let parts: Vec<String> = row
            .bars
            .iter()
            .filter(|b| b.side == side)
            .map(|b| {
                let v = b.value.map_or("n/a".into(), time);
                if named {
                    format!("{} {v}", b.name)
                } else {
                    v
                }
            })
            .collect();
        parts.join(", ")
    };
    [
        cell(Side::Groupwait, false),
        cell(Side::Peer, true),
        cell(Side::Floor, true),
    ]
}

/// The lead tables, and a line for every row where a peer beats groupwait.
fn lead(w: &mut String, d: &Data, sections: &[Section]) {
    for (i, section) in sections.iter().enumerate() {
        writeln!(w, "## {}\n", section.title).unwrap();
        writeln!(
            w,
            "| what each side does | groupwait | the peers | the floor |"
        )
        .unwrap();
        writeln!(w, "|---|---|---|---|").unwrap();
        for row in &section.rows {
            let [gw, peers, floor] = lead_cells(row);
            writeln!(
                w,
                "| {} ({}) | {gw} | {peers} | {floor} |",
                row.label, row.note
            )
            .unwrap();
        }
        if i == 0 {
            if let Some(memory) = memory_row(d) {
                writeln!(w, "{memory}").unwrap();
            }
        }
        writeln!(w).unwrap();
        let wins: Vec<String> = section.rows.iter().filter_map(faster_peers).collect();
        if wins.is_empty() {
            writeln!(
                w,
                "No peer is faster than groupwait in these rows in this run.\n"
            )
            .unwrap();
        } else {
            writeln!(w, "Where a peer is faster than groupwait in this run:\n").unwrap();
            for win in wins {
                writeln!(w, "{win}").unwrap();
            }
            writeln!(w).unwrap();
        }
    }
}

/// A list item naming the peers faster than groupwait in `row`, if any.
fn faster_peers(row: &Row) -> Option<String> {
    let gw = row.groupwait()?;
    let faster: Vec<String> = row
        .bars
        .iter()
        .filter(|b| b.side == Side::Peer)
        .filter_map(|b| {
            let v = b.value.filter(|v| *v < gw)?;
            Some(format!("{} {} ({:.2}x faster)", b.name, time(v), gw / v))
        })
        .collect();
    (!faster.is_empty()).then(|| {
        format!(
            "- {} ({}): {}, against groupwait's {}.",
            row.label,
            row.note,
            faster.join(", "),
            time(gw)
        )
    })
}

/// The 1-minute load averages at the start and the end of the run, and the cores, when the
/// larger is at or above half the cores: other work shared the machine.
fn busy(d: &Data) -> Option<(f64, f64, f64)> {
    let cores: f64 = d.machine("cores").parse().ok()?;
    let (before, after) = d.machine("load").split_once('/')?;
    let first = |s: &str| s.split_whitespace().next()?.parse::<f64>().ok();
    let (before, after) = (first(before)?, first(after)?);
    (before.max(after) >= cores / 2.0).then_some((before, after, cores))
}

/// A warning for a run on a busy machine.
fn load_warning(d: &Data) -> Option<String> {
    let (before, after, cores) = busy(d)?;
    Some(format!(
        "**Noisy run: the machine was busy.** The 1-minute load average was {before:.1} when \
         the run started and {after:.1} when it ended, on {cores:.0} cores, and the run's \
         priority was {}: other processes took turns on the cores, so every number here \
         carries that noise, the spinning and cross-core rows most. Compare ratios within this \
         run; run `scripts/bench.sh --wait-quiet 10` on a quiet machine for absolute numbers.\n",
        d.machine("priority")
    ))
}

/// The memory row of the like-for-like table: bytes per group, from the `memory` bench.
fn memory_row(d: &Data) -> Option<String> {
    let group = |name: &str| {
        d.memory.iter().find(|r| {
            r.first().is_some_and(|k| k == "group") && r.get(1).is_some_and(|n| n == name)
        })
    };
    let bytes = |name: &str, label: &str| {
        group(name).and_then(|r| match &r[..] {
            [_, _, size, heap, _, per_use, _] => {
                let mut s = format!("{label} {size} B");
                if heap == "0" && per_use == "0" {
                    s.push_str(", no heap");
                }
                if heap != "0" {
                    write!(s, " + {heap} B heap").unwrap();
                }
                if per_use != "0" {
                    write!(s, " + {per_use} B heap per round").unwrap();
                }
                Some(s)
            }
            _ => None,
        })
    };
    let gw = bytes("groupwait::WaitGroup", "")?;
    let mut peers = Vec::new();
    if let Some(size) = &d.go_size {
        peers.push(format!("Go {size} B, no heap"));
    }
    peers.extend(bytes("crossbeam_utils::sync::WaitGroup", "crossbeam-utils"));
    peers.extend(bytes("Mutex<usize> + Condvar", "Mutex+Condvar"));
    peers.extend(bytes("tokio_util::task::TaskTracker", "TaskTracker"));
    Some(format!(
        "| bytes per group: `size_of`, heap at creation, heap per round (the `memory` bench) | {} | {} | |",
        gw.trim(),
        peers.join(", ")
    ))
}

/// The whole of BENCHMARKS.md.
pub fn markdown(d: &Data, sections: &[Section], svg_link: &str) -> String {
    let mut m = String::new();
    let w = &mut m;
    writeln!(w, "# Benchmarks\n").unwrap();
    writeln!(
        w,
        "Measured on {}. Generated by `{}` (run time {}); do not edit by hand, run the script \
         again. Every number is the median of its samples; the raw samples are in \
         `target/bench-results/`. How each bench measures: the top comment of its file in \
         [`benches/`](benches/), and the Method section below.\n",
        machine_line(d),
        d.machine("command"),
        d.machine("duration")
    )
    .unwrap();
    writeln!(
        w,
        "![groupwait against Go's sync.WaitGroup, crossbeam-utils, a Mutex+Condvar group, \
         tokio's TaskTracker and JoinSet, and the hardware floor: median time per operation, \
         log scale; the same calls on each side first]({svg_link})\n"
    )
    .unwrap();
    if let Some(warning) = load_warning(d) {
        writeln!(w, "{warning}").unwrap();
    }
    lead(w, d, sections);
    writeln!(w, "## Machine\n").unwrap();
    writeln!(w, "| | |\n|---|---|").unwrap();
    for (label, key) in [
        ("CPU", "cpu"),
        ("cores", "cores"),
        ("kernel", "kernel"),
        ("date", "date"),
        ("Rust", "rustc"),
        ("Go", "go"),
        ("load average before / after", "load"),
        ("priority", "priority"),
        ("passes", "passes"),
    ] {
        writeln!(w, "| {label} | {} |", d.machine(key)).unwrap();
    }
    writeln!(w).unwrap();

    writeln!(w, "## Targets\n").unwrap();
    writeln!(
        w,
        "| target | measured | ratio | result |\n|---|---|---|---|"
    )
    .unwrap();
    let ts = targets(d);
    for t in &ts {
        let r = t.value.map_or("n/a".into(), |v| format!("{v:.2}x"));
        writeln!(w, "| {} | {} | {r} | {} |", t.what, t.detail, t.verdict()).unwrap();
    }
    let passed = ts
        .iter()
        .filter(|t| t.verdict().starts_with("**pass"))
        .count();
    writeln!(w, "\n{passed} of {} targets met.\n", ts.len()).unwrap();

    writeln!(w, "## Go's benchmark shapes\n").unwrap();
    writeln!(
        w,
        "ns/op as Go's `b.RunParallel` counts it: wall time / iterations of all threads \
         (T = threads = Go's `-cpu`). `atomic` is the bare-atomic limit of the shape \
         (`fetch_add`/`fetch_sub`/`Acquire` load; for the fresh-thread round: spawn + join with \
         no group at all; for the hand-off: a spinning waiter). crossbeam has no `Wait` that \
         keeps the group, and its `Uncontended` round builds a new group each time (its `wait` \
         consumes the group).\n"
    )
    .unwrap();
    writeln!(
        w,
        "| shape | T | groupwait | Go | atomic | crossbeam | Mutex+Condvar | groupwait/Go | groupwait/atomic | groupwait/crossbeam |"
    )
    .unwrap();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for t in [1, 2] {
        for shape in SHAPES {
            let gw = d.median("shapes", shape, t, "groupwait");
            let go = d.go_median(shape, t);
            let at = d.median("shapes", shape, t, "atomic");
            let cb = d.median("shapes", shape, t, "crossbeam");
            let cv = d.median("shapes", shape, t, "condvar");
            writeln!(
                w,
                "| {shape} | {t} | {} | {} | {} | {} | {} | {} | {} | {} |",
                ns(gw),
                ns(go),
                ns(at),
                ns(cb),
                ns(cv),
                ratio(gw, go),
                ratio(gw, at),
                ratio(gw, cb)
            )
            .unwrap();
        }
    }
    let n = d.count("shapes", "Uncontended", 1, "groupwait");
    let go_runs = d.go.get(&("Uncontended".into(), 1)).map_or(0, Vec::len);
    writeln!(
        w,
        "\nSamples per cell: {n} Rust runs and {go_runs} Go runs ({}).\n",
        d.machine("passes")
    )
    .unwrap();

    writeln!(w, "## Wake latency of a sleeping waiter\n").unwrap();
    writeln!(
        w,
        "From just before the `done` that brings the counter to zero until `wait` returns on the \
         other thread, which has been asleep in the kernel for 100 µs (ns; one sample per round). \
         `futex` is the same round on a raw futex word, the floor; `futex ping-pong` is two \
         threads waking each other through futexes, per one-way hand-off, for reference.\n"
    )
    .unwrap();
    writeln!(
        w,
        "| implementation | median | p10 | p90 | samples | / futex |\n|---|---|---|---|---|---|"
    )
    .unwrap();
    let futex = d.median("wake", "sleeping waiter", 2, "futex");
    for imp in [
        "groupwait",
        "futex",
        "crossbeam",
        "condvar",
        "futex ping-pong",
    ] {
        if let Some(s) = d.get("wake", "sleeping waiter", 2, imp) {
            let med = quantile(s, 0.5);
            writeln!(
                w,
                "| {imp} | {} | {} | {} | {} | {} |",
                ns(Some(med)),
                ns(Some(quantile(s, 0.1))),
                ns(Some(quantile(s, 0.9))),
                s.len(),
                ratio(Some(med), futex)
            )
            .unwrap();
        }
    }
    writeln!(w).unwrap();

    writeln!(w, "## Fan-out: N threads each `done`, then `wait`\n").unwrap();
    writeln!(
        w,
        "µs per round, from before the first spawn until `wait` returns (threads joined \
         afterwards, untimed). `scope`: `std::thread::scope` with the same threads; `join`: \
         spawn all, join every handle; `atomic`: an `AtomicUsize` counted down, the waiter \
         spinning (yielding).\n"
    )
    .unwrap();
    let fan_imps = [
        "groupwait",
        "atomic",
        "crossbeam",
        "condvar",
        "scope",
        "join",
    ];
    writeln!(
        w,
        "| N | {} | groupwait/atomic | groupwait/crossbeam |",
        fan_imps.join(" | ")
    )
    .unwrap();
    writeln!(w, "|---|{}---|---|", "---|".repeat(fan_imps.len())).unwrap();
    let mut fan_ns: Vec<usize> = d
        .samples
        .keys()
        .filter(|k| k.0 == "fanout")
        .filter_map(|k| k.1.parse().ok())
        .collect();
    fan_ns.sort_unstable();
    fan_ns.dedup();
    for n in &fan_ns {
        let n_s = n.to_string();
        let vals: Vec<Option<f64>> = fan_imps
            .iter()
            .map(|i| d.median("fanout", &n_s, 1, i))
            .collect();
        let cells: Vec<String> = vals.iter().map(|v| us(*v)).collect();
        writeln!(
            w,
            "| {n} | {} | {} | {} |",
            cells.join(" | "),
            ratio(vals[0], vals[1]),
            ratio(vals[0], vals[2])
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    writeln!(w, "## Async fan-out: 10,000 tokio tasks\n").unwrap();
    writeln!(
        w,
        "µs per round (ns per task in parentheses), from the first spawn until the await \
         returns; the round runs inside a task. groupwait: `spawn(wg.track_owned(fut))` and \
         `wg.wait_async()`; `TaskTracker`: tokio-util's `spawn`, `close`, `wait`; `JoinSet`: \
         `spawn`, then `join_next` until empty; `JoinHandles`: a `Vec` of handles awaited in \
         turn.\n"
    )
    .unwrap();
    let async_imps = ["groupwait", "TaskTracker", "JoinSet", "JoinHandles"];
    writeln!(
        w,
        "| runtime | {} | groupwait/TaskTracker | groupwait/JoinSet |",
        async_imps.join(" | ")
    )
    .unwrap();
    writeln!(w, "|---|{}---|---|", "---|".repeat(async_imps.len())).unwrap();
    for (t, rt) in [(1, "current-thread"), (2, "multi-thread, 2 workers")] {
        let vals: Vec<Option<f64>> = async_imps
            .iter()
            .map(|i| d.median("async", "10000 tasks", t, i))
            .collect();
        let cells: Vec<String> = vals
            .iter()
            .map(|v| match v {
                Some(v) => format!("{} ({:.0})", us(Some(*v)), v / 10_000.0),
                None => "n/a".into(),
            })
            .collect();
        writeln!(
            w,
            "| {rt} | {} | {} | {} |",
            cells.join(" | "),
            ratio(vals[0], vals[1]),
            ratio(vals[0], vals[2])
        )
        .unwrap();
    }
    writeln!(w).unwrap();

    writeln!(w, "## Memory\n").unwrap();
    writeln!(
        w,
        "`size_of`, heap allocated by the constructor, and heap allocated by one use (blocking \
         groups: `add(1); done(); wait()`; trackers: one tracked future and a wait), counted by \
         a global allocator in [`benches/memory.rs`](benches/memory.rs).\n"
    )
    .unwrap();
    writeln!(
        w,
        "| type | size_of (bytes) | heap at creation (bytes / blocks) | heap per use (bytes) | note |\n|---|---|---|---|---|"
    )
    .unwrap();
    for row in d
        .memory
        .iter()
        .filter(|r| r.first().is_some_and(|k| k == "group"))
    {
        if let [_, name, size, bytes, blocks, use_bytes, note] = &row[..] {
            writeln!(
                w,
                "| `{name}` | {size} | {bytes} / {blocks} | {use_bytes} | {note} |"
            )
            .unwrap();
        }
    }
    if let Some(size) = &d.go_size {
        writeln!(
            w,
            "| Go `sync.WaitGroup` | {size} | 0 / 0 (a `var`) | 0 | `unsafe.Sizeof`; state word + semaphore |"
        )
        .unwrap();
    }
    writeln!(w, "\nFutures (bytes, `size_of_val`):\n").unwrap();
    writeln!(w, "| future | size |\n|---|---|").unwrap();
    for row in d
        .memory
        .iter()
        .filter(|r| r.first().is_some_and(|k| k == "future"))
    {
        if let [_, name, size, ..] = &row[..] {
            writeln!(w, "| {name} | {size} |").unwrap();
        }
    }
    writeln!(w).unwrap();

    if !d.callgrind.is_empty() {
        writeln!(w, "## Instructions per operation (callgrind)\n").unwrap();
        writeln!(
            w,
            "One thread, `valgrind --tool=callgrind`, the difference between two runs of \
             different length divided by the difference in iterations (so start-up is not \
             counted). Instruction counts, not time: a locked read-modify-write counts as one \
             instruction but costs about 20 cycles uncontended.\n"
        )
        .unwrap();
        let mut shapes: Vec<&str> = d.callgrind.iter().map(|(s, _, _)| s.as_str()).collect();
        shapes.dedup();
        let mut imps: Vec<&str> = d.callgrind.iter().map(|(_, i, _)| i.as_str()).collect();
        imps.sort_unstable();
        imps.dedup();
        writeln!(
            w,
            "| shape | {} |\n|---|{}",
            imps.join(" | "),
            "---|".repeat(imps.len())
        )
        .unwrap();
        for s in shapes {
            let cells: Vec<String> = imps
                .iter()
                .map(|i| {
                    d.callgrind
                        .iter()
                        .find(|(sh, im, _)| sh == s && im == i)
                        .map_or("n/a".into(), |(_, _, v)| format!("{v:.1}"))
                })
                .collect();
            writeln!(w, "| {s} | {} |", cells.join(" | ")).unwrap();
        }
        writeln!(w).unwrap();
    }

    analysis(w, d, &ts);

    writeln!(w, "## Method\n").unwrap();
    writeln!(
        w,
        "- Go: its own benchmarks from the installed toolchain's standard library, \
         `go test -run '^$' -bench WaitGroup -cpu 1,2 sync`, several runs; Rust: \
         `cargo bench --bench shapes`, the same shapes with the same `RunParallel` semantics \
         (threads take ~100 µs batches from one shared budget; ns/op = wall time / all \
         iterations). divan's `threads` option would not do: it times each thread's sample \
         separately and divides by that thread's iterations, i.e. it reports per-thread latency, \
         T times Go's figure under perfect scaling.\n\
         - Medians of many short runs rather than one long run: on a shared machine, a time \
         slice taken by another process spoils a few samples instead of inflating every one. \
         Rust and Go alternate in passes, so a slow period hits both.\n\
         - The local work of `AddDoneWork`/`WaitWork` passes `x` through `black_box` at each \
         step, so all 100 rounds of `x *= 2; x /= 2` run (about 110 ns here). Go's compiler \
         (1.27) deletes that arithmetic, since `foo` is never used: `go tool objdump` of \
         `benchmarkWaitGroupWait.func1` shows only an empty 100-iteration counting loop, about \
         30 ns. So in these two rows groupwait/Go compares different work; groupwait/atomic \
         (the same work on both sides) is the ratio that means something.\n\
         - Go's `ActuallyWait` starts a goroutine (a user-space switch, no kernel); the Rust \
         rows start an OS thread (`fresh thread`) or hand the round to a running thread \
         (`hand-off`), which is the Rust equivalent of a goroutine that is already scheduled.\n\
         - With T = 2 the hand-off runs four busy threads (two waiters, two workers) on the \
         machine's cores; the workers (and spinning waiters) yield after about 2,000 idle \
         polls (some 50 µs).\n\
         - Measuring threads of the spinning shapes are pinned one per core, and a hand-off \
         worker to the other core (threads started inside a round and tokio's are not): on a \
         busy machine the kernel may otherwise keep two spinning threads on one core for a time \
         slice.\n\
         - Shapes that move a cache line between the two cores (the hand-off, `AddDone` and \
         `AddDoneWork` with T = 2) depend on where the host places the two vCPUs, which can \
         change between runs minutes apart: on this project's machine the hand-off measured \
         from about 60 to about 320 ns in different runs, for groupwait and the bare atomic \
         alike. Compare ratios within one run, not numbers across runs.\n\
         - The bench binaries and Go run under a raised scheduling priority when the script is \
         allowed to set one (see the priority row above); the numbers are still those of a \
         virtual machine that other work may share."
    )
    .unwrap();
    m
}
