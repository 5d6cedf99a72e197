//! The lead of BENCHMARKS.md: the rows of the chart as tables, like for like first, with every
//! row where a peer beats groupwait named, the memory per group, and a warning when the run
//! shared the machine with other work.

use crate::data::Data;
use crate::format::time;
use crate::rows::{Row, Section, Side};
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
pub fn lead(w: &mut String, d: &Data, sections: &[Section]) {
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
pub fn load_warning(d: &Data) -> Option<String> {
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
