//! Turns the results of one `scripts/bench.sh` run into `BENCHMARKS.md` and its SVG chart.
//!
//! ```text
//! cargo bench --bench report -- --dir target/bench-results --md BENCHMARKS.md --svg docs/benchmarks.svg
//! ```
//!
//! Reads from `--dir`: `compare.tsv` (raw samples of `benches/compare.rs`), `go.txt` (the
//! output of `go test -bench WaitGroup sync`, any number of runs), `memory.tsv`
//! (`benches/memory.rs`), and, when present, `machine.txt` (`key: value` lines about the run),
//! `go-size.txt` (Go's `unsafe.Sizeof(sync.WaitGroup{})`) and `callgrind.tsv` (instructions per
//! operation). Every number is the median of its samples. Run by plain `cargo bench` (no
//! `--dir`), it does nothing.

use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let mut dir = None;
    let mut md = None;
    let mut svg = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = args.next().map(PathBuf::from),
            "--md" => md = args.next().map(PathBuf::from),
            "--svg" => svg = args.next().map(PathBuf::from),
            _ => {} // `--bench` and filters from cargo
        }
    }
    let Some(dir) = dir else {
        println!("report: nothing to do without --dir (scripts/bench.sh runs it)");
        return;
    };
    let md = md.unwrap_or_else(|| PathBuf::from("BENCHMARKS.md"));
    let svg = svg.unwrap_or_else(|| PathBuf::from("docs/benchmarks.svg"));
    let data = Data::load(&dir);
    if let Some(parent) = svg.parent() {
        fs::create_dir_all(parent).expect("create the chart's directory");
    }
    chart(&data, &svg);
    let svg_link = relative_link(&md, &svg);
    let text = markdown(&data, &svg_link);
    fs::write(&md, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", md.display()));
    println!("report: wrote {} and {}", md.display(), svg.display());
}

/// The path of `target` as a link from the directory of `from` (both relative to the
/// current directory, as the script passes them).
fn relative_link(from: &Path, target: &Path) -> String {
    let base = from.parent().unwrap_or(Path::new(""));
    target
        .strip_prefix(base)
        .unwrap_or(target)
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// (section, shape, threads, implementation)
type Key = (String, String, usize, String);

struct Data {
    samples: BTreeMap<Key, Vec<f64>>,
    /// (Go benchmark shape, -cpu) -> ns/op of each run.
    go: BTreeMap<(String, usize), Vec<f64>>,
    go_size: Option<String>,
    memory: Vec<Vec<String>>,
    machine: Vec<(String, String)>,
    /// (shape, implementation) -> instructions per operation.
    callgrind: Vec<(String, String, f64)>,
}

impl Data {
    fn load(dir: &Path) -> Data {
        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
        let mut samples: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
        for line in read("compare.tsv").lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if let [section, shape, threads, imp, ns] = f[..] {
                if let (Ok(t), Ok(v)) = (threads.parse(), ns.parse()) {
                    samples
                        .entry((section.into(), shape.into(), t, imp.into()))
                        .or_default()
                        .push(v);
                }
            }
        }
        let mut go: BTreeMap<(String, usize), Vec<f64>> = BTreeMap::new();
        for line in read("go.txt").lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(name) = f.first().and_then(|n| n.strip_prefix("BenchmarkWaitGroup")) else {
                continue;
            };
            let (shape, cpu) = match name.rsplit_once('-') {
                Some((s, c)) if c.parse::<usize>().is_ok() => (s, c.parse().unwrap_or(1)),
                _ => (name, 1),
            };
            if let Some(i) = f.iter().position(|w| *w == "ns/op") {
                if let Some(v) = i.checked_sub(1).and_then(|j| f[j].parse::<f64>().ok()) {
                    go.entry((shape.into(), cpu)).or_default().push(v);
                }
            }
        }
        let memory = read("memory.tsv")
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect();
        let machine = read("machine.txt")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let callgrind = read("callgrind.tsv")
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                match f[..] {
                    [shape, imp, v] => Some((shape.into(), imp.into(), v.parse().ok()?)),
                    _ => None,
                }
            })
            .collect();
        let go_size = Some(read("go-size.txt").trim().to_owned()).filter(|s| !s.is_empty());
        Data {
            samples,
            go,
            go_size,
            memory,
            machine,
            callgrind,
        }
    }

    fn get(&self, section: &str, shape: &str, threads: usize, imp: &str) -> Option<&[f64]> {
        self.samples
            .get(&(section.into(), shape.into(), threads, imp.into()))
            .map(Vec::as_slice)
    }

    fn median(&self, section: &str, shape: &str, threads: usize, imp: &str) -> Option<f64> {
        self.get(section, shape, threads, imp)
            .map(|s| quantile(s, 0.5))
    }

    /// Go's ns/op for one of our shapes (both ActuallyWait rows compare with Go's one).
    fn go_median(&self, shape: &str, threads: usize) -> Option<f64> {
        let go_name = shape.split(' ').next().unwrap_or(shape);
        self.go
            .get(&(go_name.into(), threads))
            .map(|s| quantile(s, 0.5))
    }

    fn machine(&self, key: &str) -> &str {
        self.machine
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }

    fn count(&self, section: &str, shape: &str, threads: usize, imp: &str) -> usize {
        self.get(section, shape, threads, imp)
            .map_or(0, <[f64]>::len)
    }
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    s[i]
}

const SHAPES: [&str; 7] = [
    "Uncontended",
    "AddDone",
    "AddDoneWork",
    "Wait",
    "WaitWork",
    "ActuallyWait (fresh thread)",
    "ActuallyWait (hand-off)",
];

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

fn ns(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => group_digits(v.round() as u64),
    }
}

fn us(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v < 10_000.0 => format!("{:.2}", v / 1e3),
        Some(v) if v < 100_000.0 => format!("{:.1}", v / 1e3),
        Some(v) => group_digits((v / 1e3).round() as u64),
    }
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "n/a".into(),
    }
}

/// One target: `value` (a ratio) against `limit`, where `at_most` says which side passes.
struct Target {
    what: String,
    detail: String,
    value: Option<f64>,
    limit: f64,
    at_most: bool,
}

impl Target {
    fn verdict(&self) -> String {
        let Some(v) = self.value else {
            return "not measured".into();
        };
        if self.at_most {
            if v <= self.limit {
                format!(
                    "**pass** ({:.0} % headroom)",
                    (1.0 - v / self.limit) * 100.0
                )
            } else {
                format!(
                    "**miss** by {:.0} % ({:.2}x the limit)",
                    (v / self.limit - 1.0) * 100.0,
                    v / self.limit
                )
            }
        } else if v >= self.limit {
            format!("**pass** ({:.1}x the required factor)", v / self.limit)
        } else {
            format!(
                "**miss**: {:.0} % short ({:.1}x of the required {:.0}x)",
                (1.0 - v / self.limit) * 100.0,
                v,
                self.limit
            )
        }
    }
}

fn targets(d: &Data) -> Vec<Target> {
    let mut out = Vec::new();
    for t in [1, 2] {
        for shape in ["Uncontended", "AddDone"] {
            let gw = d.median("shapes", shape, t, "groupwait");
            let at = d.median("shapes", shape, t, "atomic");
            let go = d.go_median(shape, t);
            out.push(Target {
                what: format!("{shape}, T={t}: ≤ 1.25x bare atomic"),
                detail: format!("{} vs {} ns/op", ns(gw), ns(at)),
                value: gw.zip(at).map(|(a, b)| a / b),
                limit: 1.25,
                at_most: true,
            });
            out.push(Target {
                what: format!("{shape}, T={t}: ≤ 0.5x Go"),
                detail: format!("{} vs Go {} ns/op", ns(gw), ns(go)),
                value: gw.zip(go).map(|(a, b)| a / b),
                limit: 0.5,
                at_most: true,
            });
        }
    }
    for t in [1, 2] {
        let gw = d.median("shapes", "Wait", t, "groupwait");
        let at = d.median("shapes", "Wait", t, "atomic");
        out.push(Target {
            what: format!("Wait on zero, T={t}: ≤ 2x a bare atomic load"),
            detail: format!("{} vs {} ns/op", ns(gw), ns(at)),
            value: gw.zip(at).map(|(a, b)| a / b),
            limit: 2.0,
            at_most: true,
        });
    }
    for t in [1, 2] {
        let gw = d.median("shapes", "ActuallyWait (hand-off)", t, "groupwait");
        let go = d.go_median("ActuallyWait", t);
        out.push(Target {
            what: format!("Hand-off to a running worker, T={t}: ≤ Go's ActuallyWait"),
            detail: format!("{} vs Go {} ns/op", ns(gw), ns(go)),
            value: gw.zip(go).map(|(a, b)| a / b),
            limit: 1.0,
            at_most: true,
        });
    }
    let gw = d.median("wake", "sleeping waiter", 2, "groupwait");
    let fx = d.median("wake", "sleeping waiter", 2, "futex");
    out.push(Target {
        what: "Wake latency of a sleeping waiter: ≤ 1.2x raw futex".into(),
        detail: format!("{} vs {} ns (medians)", ns(gw), ns(fx)),
        value: gw.zip(fx).map(|(a, b)| a / b),
        limit: 1.2,
        at_most: true,
    });
    for t in [1, 2] {
        let gw = d.median("shapes", "Uncontended", t, "groupwait");
        let cb = d.median("shapes", "Uncontended", t, "crossbeam");
        out.push(Target {
            what: format!("Uncontended, T={t}: ≥ 20x faster than crossbeam"),
            detail: format!("{} vs {} ns/op", ns(gw), ns(cb)),
            value: cb.zip(gw).map(|(a, b)| a / b),
            limit: 20.0,
            at_most: false,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// BENCHMARKS.md
// ---------------------------------------------------------------------------------------------

fn markdown(d: &Data, svg_link: &str) -> String {
    let mut m = String::new();
    let w = &mut m;
    writeln!(w, "# Benchmarks\n").unwrap();
    writeln!(
        w,
        "Generated by `{}` (run time {}); do not edit by hand, run the script again. Every \
         number is the median of its samples; the raw samples are in `target/bench-results/`. \
         How each shape is measured: [`benches/compare.rs`](benches/compare.rs) (top comment) \
         and the Method section below.\n",
        d.machine("command"),
        d.machine("duration")
    )
    .unwrap();
    writeln!(w, "![groupwait, Go, the bare-atomic limit, crossbeam and a Mutex+Condvar group, ns per operation, log scale]({svg_link})\n").unwrap();

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
         `cargo bench --bench compare`, the same shapes with the same `RunParallel` semantics \
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

/// Where the time goes, for each kind of target that was missed, from the measured numbers.
fn analysis(w: &mut String, d: &Data, ts: &[Target]) {
    let missed = |prefix: &str, suffix: &str| {
        ts.iter().any(|t| {
            t.what.starts_with(prefix)
                && t.what.contains(suffix)
                && t.verdict().starts_with("**miss")
        })
    };
    let cg = |shape: &str, imp: &str| {
        d.callgrind
            .iter()
            .find(|(s, i, _)| s == shape && i == imp)
            .map(|(_, _, v)| *v)
    };
    let fmt_i = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0}"));
    let mut notes = Vec::new();
    if missed("Uncontended", "atomic") || missed("AddDone", "atomic") {
        notes.push(format!(
            "**Uncontended / AddDone against the bare atomic.** groupwait's `add` and `done` \
             check before they write (DESIGN.md, \"Check, then write\"): a `Relaxed` load of the \
             state word, the range and misuse checks, then one compare-exchange, where the bare \
             atomic is a single `lock xadd`. The locked instruction costs the same either way; \
             the difference is the dependency chain in front of it (the compare-exchange must \
             wait for the load and the checks) and the branches. Instructions per operation under \
             callgrind: Uncontended (add, done, wait) {} for groupwait against {} for the atomic, \
             AddDone {} against {}. With two threads on one shared group (AddDone, T=2) the \
             compare-exchange can also fail and retry when the other core wrote the line \
             between the load and the exchange, which a `fetch_add` never does. Closing the gap \
             would take a different write path, such as Go's write-then-check, which DESIGN.md \
             rejects because other threads could then see an out-of-range counter.",
            fmt_i(cg("uncontended", "groupwait")),
            fmt_i(cg("uncontended", "atomic")),
            fmt_i(cg("adddone", "groupwait")),
            fmt_i(cg("adddone", "atomic")),
        ));
    }
    if missed("Uncontended", "Go") || missed("AddDone", "Go") {
        let mut parts = Vec::new();
        for t in [1, 2] {
            for shape in ["Uncontended", "AddDone"] {
                let at = d.median("shapes", shape, t, "atomic");
                let go = d.go_median(shape, t);
                parts.push(format!("{shape} T={t}: {}", ratio(at, go)));
            }
        }
        notes.push(format!(
            "**Against Go's ns/op (≤ 0.5x).** Go's `Add` is itself one atomic add plus checks \
             and its `Wait` one load, so the bare-atomic limit bounds how far below Go anything \
             can go on this machine. The bare atomic's ratio to Go: {}. A target of 0.5x Go is \
             at or below the hardware limit wherever that ratio is near or above 0.5; groupwait \
             then lands at its ratio to the atomic times that.",
            parts.join(", ")
        ));
    }
    if missed("Hand-off", "") {
        notes.push(
            "**Hand-off against Go's ActuallyWait.** Go's round never leaves one core: the new \
             goroutine runs on the waiter's P when the waiter parks, a user-space switch. The \
             Rust hand-off crosses cores: the worker sees the signal, and the waiter sees the \
             `done`, each a cache-line transfer between the two vCPUs (compare the `atomic` \
             column, the same round with nothing but a spinning waiter). The cost of such a \
             transfer depends on where the host places the vCPUs and varies from run to run."
                .to_owned(),
        );
    }
    if missed("Wake latency", "") {
        notes.push(
            "**Wake latency.** groupwait's sleeping waiter sleeps on a `Condvar` in the \
             address-keyed table (DESIGN.md, \"Sleeping\"): the release takes the bucket's \
             mutex, then `notify_all` makes the futex call; the woken waiter re-takes the mutex. \
             The raw futex round is a store and one `FUTEX_WAKE`."
                .to_owned(),
        );
    }
    if missed("Wait on zero", "") {
        notes.push(
            "**Wait on zero.** groupwait's `wait` on an idle group is one `Acquire` load and a \
             test of the counter and panic bits; anything above that is the loop around it."
                .to_owned(),
        );
    }
    if notes.is_empty() {
        return;
    }
    writeln!(w, "## Where the time goes in the misses\n").unwrap();
    for n in notes {
        writeln!(w, "{n}\n").unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The chart
// ---------------------------------------------------------------------------------------------

const SERIES: [(&str, &str, RGBColor); 5] = [
    ("groupwait", "groupwait", RGBColor(0xd9, 0x48, 0x1c)),
    ("Go", "Go sync.WaitGroup", RGBColor(0x00, 0x7d, 0x9c)),
    ("atomic", "bare atomic / floor", RGBColor(0x88, 0x88, 0x88)),
    (
        "crossbeam",
        "crossbeam-utils WaitGroup",
        RGBColor(0x6a, 0x3d, 0x9a),
    ),
    ("condvar", "Mutex+Condvar", RGBColor(0xe6, 0xab, 0x02)),
];

fn chart(d: &Data, path: &Path) {
    // Rows: Go's shapes for T = 1 and 2, then the wake latency (its floor is the raw futex).
    let mut rows: Vec<(String, [Option<f64>; 5])> = Vec::new();
    for t in [1, 2] {
        for shape in SHAPES {
            let v = [
                d.median("shapes", shape, t, "groupwait"),
                d.go_median(shape, t),
                d.median("shapes", shape, t, "atomic"),
                d.median("shapes", shape, t, "crossbeam"),
                d.median("shapes", shape, t, "condvar"),
            ];
            rows.push((format!("{shape}, T={t}"), v));
        }
    }
    let wake = |imp| d.median("wake", "sleeping waiter", 2, imp);
    rows.push((
        "wake a sleeping waiter".into(),
        [
            wake("groupwait"),
            None,
            wake("futex"),
            wake("crossbeam"),
            wake("condvar"),
        ],
    ));

    // Room right of the longest bar for its value: the next power of ten, times ten.
    let longest = rows
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(1.0_f64, |a, &b| a.max(b));
    let x_max = 10f64.powf(longest.log10().ceil() + 1.0);
    let bar_h = 9.0_f64; // pixels per bar
    let group_h = bar_h * 5.0 + 8.0;
    let width = 980_u32;
    let height = (group_h * rows.len() as f64 + 140.0) as u32;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).expect("draw");
    let label_w = 230;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "WaitGroup operations, ns per op (median; log scale; shorter is faster)",
            ("sans-serif", 18),
        )
        .margin(12)
        .margin_right(48)
        .x_label_area_size(36)
        .y_label_area_size(label_w)
        .build_cartesian_2d((0.1f64..x_max).log_scale(), 0f64..rows.len() as f64)
        .expect("chart");
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("ns per operation")
        .x_label_formatter(&|v| {
            if *v >= 1000.0 {
                group_digits(v.round() as u64)
            } else {
                format!("{v}")
            }
        })
        .label_style(("sans-serif", 12))
        .draw()
        .expect("mesh");

    let slot = 1.0 / (5.0 + 8.0 / bar_h); // fraction of a row per bar
    for (s, (key, label, color)) in SERIES.iter().enumerate() {
        let bars: Vec<_> = rows
            .iter()
            .enumerate()
            .filter_map(|(r, (_, v))| v[s].map(|x| (r, x)))
            .collect();
        let y = |r: usize| rows.len() as f64 - r as f64 - 0.5 * (8.0 / bar_h) * slot;
        chart
            .draw_series(bars.iter().map(|&(r, x)| {
                let top = y(r) - s as f64 * slot;
                Rectangle::new([(0.1, top), (x, top - slot * 0.9)], color.filled())
            }))
            .expect("bars")
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart
            .draw_series(bars.iter().map(|&(r, x)| {
                let top = y(r) - s as f64 * slot;
                let text = if x < 100.0 {
                    format!("{x:.1}")
                } else {
                    group_digits(x.round() as u64)
                };
                Text::new(
                    text,
                    (x * 1.08, top - slot * 0.05),
                    ("sans-serif", 9).into_font().color(&BLACK),
                )
            }))
            .expect("values");
        let _ = key;
    }
    // Row labels, left of the plotting area, and a separator line between rows.
    for (r, (label, _)) in rows.iter().enumerate() {
        let top = rows.len() as f64 - r as f64;
        let (px, py) = chart.backend_coord(&(0.1, top - 0.5));
        root.draw(&Text::new(
            label.clone(),
            (px - label_w + 8, py - 6),
            ("sans-serif", 13).into_font().color(&BLACK),
        ))
        .expect("label");
        if r > 0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.1, top), (x_max, top)],
                    RGBColor(0xdd, 0xdd, 0xdd),
                )))
                .expect("separator");
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .expect("legend");
    root.present().expect("write the SVG");
}
