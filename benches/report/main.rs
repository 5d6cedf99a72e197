//! Turns the results of one `scripts/bench.sh` run into `BENCHMARKS.md` and its SVG chart.
//!
//! ```text
//! cargo bench -p benches --bench report -- --dir target/bench-results --md BENCHMARKS.md --svg docs/benchmarks.svg
//! ```
//!
//! Relative paths are taken from the workspace root (`cargo bench` runs this in `benches/`).
//! Reads from `--dir`: `compare.tsv` (the raw samples of the `shapes`, `wake`, `fanout`,
//! `async_fanout` and `pending_waiters` benches), `go.txt` (the output of `go test -bench
//! WaitGroup sync`, any number of runs), `memory.tsv` (the `memory` bench), and, when present,
//! `machine.txt` (`key: value` lines about the run), `go-size.txt` (Go's
//! `unsafe.Sizeof(sync.WaitGroup{})`) and `callgrind.tsv` (instructions per operation). Every
//! number is the median of its samples.
//! Run by plain `cargo bench` (no `--dir`), it does nothing.
//!
//! The parts: [`data`] reads the results, [`rows`] picks the comparisons the report leads
//! with (the same calls on each side first), [`chart`] draws them, [`lead`] and [`markdown`]
//! write BENCHMARKS.md ([`sweep`] its section on the captured-state sweep, [`thread_tasks`]
//! its section on thread tasks, [`pending`] the one on many pending async waiters),
//! [`targets`] judges the project's targets, [`format`] writes numbers.

mod chart;
mod data;
mod format;
mod lead;
mod markdown;
mod pending;
mod rows;
mod sweep;
mod targets;
mod thread_tasks;

use benches::workspace_path;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let mut dir = None;
    let mut md = PathBuf::from("BENCHMARKS.md");
    let mut svg = PathBuf::from("docs/benchmarks.svg");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || PathBuf::from(args.next().unwrap_or_else(|| panic!("{arg} PATH")));
        match arg.as_str() {
            "--dir" => dir = Some(value()),
            "--md" => md = value(),
            "--svg" => svg = value(),
            _ => {} // `--bench` and filters from cargo
        }
    }
    let Some(dir) = dir else {
        println!("report: nothing to do without --dir (scripts/bench.sh runs it)");
        return;
    };
    let (dir, md, svg) = (workspace_path(dir), workspace_path(md), workspace_path(svg));
    let data = data::Data::load(&dir);
    let sections = rows::sections(&data);
    if let Some(parent) = svg.parent() {
        fs::create_dir_all(parent).expect("create the chart's directory");
    }
    chart::draw(&sections, &lead::machine_line(&data), &svg);
    let text = markdown::markdown(&data, &sections, &relative_link(&md, &svg));
    fs::write(&md, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", md.display()));
    println!("report: wrote {} and {}", md.display(), svg.display());
}

/// The path of `target` as a link from the folder of `from`.
fn relative_link(from: &Path, target: &Path) -> String {
    let base = from.parent().unwrap_or(Path::new(""));
    target
        .strip_prefix(base)
        .unwrap_or(target)
        .to_string_lossy()
        .into_owned()
}
