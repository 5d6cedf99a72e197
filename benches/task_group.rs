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
//!   - `TaskGroup<()>` with the values dropped: `track(async { Ok(()) })`;
//!   - `TaskGroup<usize>` with named tasks (issue 23): `group.named("fetch").track(..)`, and
//!     with a `String` name made per task (`format!("fetch {i}")`, its allocation included).
//! * `threads`: one round = 100 thread tasks, each returning its index, joined; `threads,
//!   1,000 per round`: the same cells with 1,000 (issue 21, part 2: where a pool's per-task
//!   cost shows; no Go rows).
//!   - `thread::scope`: `s.spawn`, join every handle for its value;
//!   - `TaskGroup` scoped: `group.spawn_scoped(s, ..)`, `group.wait()` (a scoped thread per
//!     task);
//!   - `TaskGroup` static: `group.spawn(..)`, `group.wait()` (the task pool's reused workers);
//!   - `TaskGroup` static with a limit of one per core (`TaskGroup::with_limit`): no more
//!     running at once than rayon's pool has workers (the spawner waits for a slot per task);
//!   - `rayon::scope` on rayon's global pool (one worker per core), each task writing its index
//!     into its own slot: the pool peer of `TaskGroup::spawn` (issue 21's target: at most 4x
//!     its cost per task).
//! * `Go`: an errgroup-shaped group written with Go's standard library (benches/go/), on the
//!   same shapes, with goroutines (a third cost model: green threads on `GOMAXPROCS` OS
//!   threads); `GOMAXPROCS` is 1 next to the current-thread runtime, 2 next to the two-worker
//!   runtime and the threads. Its test binary is built once (`go test -c`), and one round of a
//!   Go cell is one run of that binary for 20 rounds (after Go's own warm-up round), timed by
//!   Go: the sample is Go's ns/op, so process start is not in it, and the Go rounds alternate
//!   with the Rust ones. Go is `$GO` if set (empty: skip Go), else the toolchain that
//!   `scripts/bench.sh` installs under `${XDG_CACHE_HOME:-~/.cache}/groupwait/go-venv`, else
//!   `go` on the `PATH`; without one the Go rows are left out, with a note.
//!
//! * `sweep` (issue 21): the async round of `TaskGroup<usize>` against `JoinSet` with each
//!   task's future capturing 0, 16, 64, 256 or 1,024 bytes of state (`benches::State`), on both
//!   runtimes, with the bytes each hands to `spawn` (`size_of_val` of the spawned future): a
//!   wrapper that held the future twice paid for it in every spawn, more as the state grows.
//!   Per size, 16 rounds of each (`--reps N`: N), after one warm-up round each, in
//!   alternating order (`interleave_balanced`).
//!
//! Each cell is 15 rounds (after 3 warm-up rounds), rounds of the cells of a shape alternate,
//! and the median round is reported as ns per task, with the ratio to the shape's reference
//! (`JoinSet` for async, `thread::scope` for threads). `cargo bench -p benches --bench
//! task_group`; `scripts/bench.sh` runs it too.
//!
//! ```text
//! cargo bench -p benches --bench task_group                         # every shape
//! cargo bench -p benches --bench task_group -- sweep                # shapes whose title has "sweep"
//! cargo bench -p benches --bench task_group -- sweep --out FILE     # also append the sweep's samples
//! ```
//!
//! With `--out`, the sweep's samples are appended to FILE as the other timed benches' are
//! (section `task-group`, ns per round; sizes in section `task-group-bytes`), for the report,
//! and so are the thread shapes' (section `task-group-threads`, cells `100 tasks` and `1000
//! tasks`, ns per round; without the Go rows), for the report's section on the task pool.

use benches::{interleave_balanced, state_cell, with_state_size, Opts, Sink, State, STATE_SIZES};
use groupwait::task_group::TaskGroup;
use std::convert::Infallible;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;

const ROUNDS: usize = 15;
const WARMUP: usize = 3;
const ASYNC_TASKS: usize = 10_000;
const THREADS: usize = 100;
/// The larger round of thread tasks (issue 21): where a pool's per-task cost shows.
const THREADS_LARGE: usize = 1_000;

type Round = Box<dyn Fn() -> Duration>;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs the cells of one shape, rounds alternating, and prints medians and ratios to the
/// first cell; returns each cell's name and samples (ns per round).
fn shape(title: &str, tasks: usize, cells: Vec<(&str, Round)>) -> Vec<(String, Vec<f64>)> {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cells.len()];
    for round in 0..WARMUP + ROUNDS {
        for (i, (_, run)) in cells.iter().enumerate() {
            let time = run();
            if round >= WARMUP {
                samples[i].push(time);
            }
        }
    }
    let recorded: Vec<(String, Vec<f64>)> = cells
        .iter()
        .zip(&samples)
        .map(|((name, _), s)| {
            let ns = s.iter().map(|d| d.as_nanos() as f64).collect();
            ((*name).to_string(), ns)
        })
        .collect();
    let medians: Vec<f64> = samples
        .into_iter()
        .map(|s| median(s).as_nanos() as f64 / tasks as f64)
        .collect();
    println!("\n{title} ({tasks} tasks per round, median of {ROUNDS} rounds)");
    println!("| implementation | ns per task | ratio to {} |", cells[0].0);
    println!("|---|---:|---:|");
    for ((name, _), ns) in cells.iter().zip(&medians) {
        let ratio = ns / medians[0];
        // Three decimals where two would round a pool or goroutine row to 0.01.
        let digits = if ratio < 0.1 { 3 } else { 2 };
        println!("| {name} | {ns:.0} | {ratio:.digits$} |");
    }
    recorded
}

/// Appends a thread shape's samples (section `task-group-threads`, cell `N tasks`, ns per
/// round) for the report's section on the task pool.
fn record_threads(sink: &mut Sink, tasks: usize, recorded: &[(String, Vec<f64>)]) {
    for (name, samples) in recorded {
        if !name.starts_with("Go ") {
            sink.record(
                "task-group-threads",
                &format!("{tasks} tasks"),
                2,
                name,
                samples,
            );
        }
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
    let named = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let group = TaskGroup::<usize, Infallible>::new();
                for i in 0..ASYNC_TASKS {
                    tokio::spawn(group.named("fetch").track(async move { Ok(i) }));
                }
                black_box(group.wait_async().await.unwrap());
            })
        }
    };
    let named_owned = {
        let rt = rt.clone();
        move || {
            in_task(&rt, || async {
                let group = TaskGroup::<usize, Infallible>::new();
                for i in 0..ASYNC_TASKS {
                    let name = format!("fetch {i}");
                    tokio::spawn(group.named(name).track(async move { Ok(i) }));
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
        ("TaskGroup<usize>, named (&'static str)", Box::new(named)),
        (
            "TaskGroup<usize>, named (String, format! included)",
            Box::new(named_owned),
        ),
        ("TaskGroup<()>", Box::new(unit)),
    ]
}

/// The task of the sweep: `N` bytes of captured state, returning its index.
fn job<const N: usize>(i: usize) -> impl std::future::Future<Output = usize> + Send + 'static {
    let state = State::<N>::new();
    async move {
        state.touch();
        i
    }
}

/// The same task for a group, returning `Ok(i)`.
fn group_job<const N: usize>(
    i: usize,
) -> impl std::future::Future<Output = Result<usize, Infallible>> + Send + 'static {
    let state = State::<N>::new();
    async move {
        state.touch();
        Ok(i)
    }
}

/// One sweep round of `JoinSet` (`group` false) or `TaskGroup<usize>` (`group` true) for
/// `N` bytes of state.
fn sweep_round<const N: usize>(rt: &tokio::runtime::Runtime, group: bool) -> Duration {
    if group {
        in_task(rt, || async {
            let group = TaskGroup::<usize, Infallible>::new();
            for i in 0..ASYNC_TASKS {
                tokio::spawn(group.track(group_job::<N>(i)));
            }
            black_box(group.wait_async().await.unwrap());
        })
    } else {
        in_task(rt, || async {
            let mut set = JoinSet::new();
            for i in 0..ASYNC_TASKS {
                set.spawn(job::<N>(i));
            }
            while let Some(v) = set.join_next().await {
                black_box(v.unwrap());
            }
        })
    }
}

/// The bytes `JoinSet` and `TaskGroup::track` hand to `spawn` per task, for `N` bytes of state.
fn sweep_sizes<const N: usize>() -> [usize; 2] {
    let group = TaskGroup::<usize, Infallible>::new();
    let task = group.track(group_job::<N>(0));
    let sizes = [size_of_val(&job::<N>(0)), size_of_val(&task)];
    drop(task); // recorded as cancelled; the group is dropped unwaited
    sizes
}

/// The sweep on one runtime: per size of state, `JoinSet` and `TaskGroup<usize>` rounds in
/// alternating order; prints ns per task, the ratio, and the bytes per spawned future.
fn sweep(title: &str, threads: usize, reps: usize, sink: &mut Sink) {
    const NAMES: [&str; 2] = ["JoinSet", "TaskGroup<usize>"];
    let rt = runtime(threads);
    let mut table = format!(
        "\n{title} ({ASYNC_TASKS} tasks per round, median of {reps} rounds)\n\
         | state (bytes) | JoinSet ns per task | TaskGroup ns per task | TaskGroup/JoinSet | \
         bytes per spawned future: JoinSet | TaskGroup |\n\
         |---:|---:|---:|---:|---:|---:|\n"
    );
    for bytes in STATE_SIZES {
        let cell = state_cell(ASYNC_TASKS, bytes);
        let round = |i: usize| with_state_size!(bytes, N => sweep_round::<N>(&rt, i == 1));
        round(0); // warm-up
        round(1);
        let samples = interleave_balanced(reps, NAMES.len(), |i, out| {
            out.push(round(i).as_nanos() as f64);
        });
        let sizes = with_state_size!(bytes, N => sweep_sizes::<N>());
        if threads == 1 {
            for (name, size) in NAMES.iter().zip(sizes) {
                sink.record_bytes("task-group-bytes", &cell, name, size);
            }
        }
        let ns: Vec<f64> = samples
            .iter()
            .map(|s| benches::median(s) / ASYNC_TASKS as f64)
            .collect();
        for (name, s) in NAMES.iter().zip(&samples) {
            sink.record("task-group", &cell, threads, name, s);
        }
        table += &format!(
            "| {bytes} | {:.0} | {:.0} | {:.2} | {} | {} |\n",
            ns[0],
            ns[1],
            ns[1] / ns[0],
            sizes[0],
            sizes[1]
        );
    }
    print!("{table}");
}

fn thread_cells(threads: usize) -> Vec<(&'static str, Round)> {
    let scope = move || {
        let start = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || i)).collect();
            for h in handles {
                black_box(h.join().unwrap());
            }
        });
        start.elapsed()
    };
    let scoped = move || {
        let start = Instant::now();
        let group = TaskGroup::<usize, Infallible>::new();
        std::thread::scope(|s| {
            for i in 0..threads {
                group.spawn_scoped(s, move || Ok(i));
            }
            black_box(group.wait().unwrap());
        });
        start.elapsed()
    };
    let owned = move || {
        let start = Instant::now();
        let group = TaskGroup::<usize, Infallible>::new();
        for i in 0..threads {
            group.spawn(move || Ok(i));
        }
        black_box(group.wait().unwrap());
        start.elapsed()
    };
    let cores = rayon::current_num_threads();
    let limited = move || {
        let start = Instant::now();
        let group = TaskGroup::<usize, Infallible>::with_limit(cores);
        for i in 0..threads {
            group.spawn(move || Ok(i));
        }
        black_box(group.wait().unwrap());
        start.elapsed()
    };
    let rayon_scope = move || {
        let start = Instant::now();
        let mut out = vec![0usize; threads];
        rayon::scope(|s| {
            for (i, slot) in out.iter_mut().enumerate() {
                s.spawn(move |_| *slot = i);
            }
        });
        black_box(out);
        start.elapsed()
    };
    vec![
        ("thread::scope", Box::new(scope) as Round),
        ("TaskGroup::spawn_scoped", Box::new(scoped)),
        ("TaskGroup::spawn", Box::new(owned)),
        ("TaskGroup::with_limit(cores) + spawn", Box::new(limited)),
        ("rayon::scope (pool)", Box::new(rayon_scope)),
    ]
}

/// The Go toolchain to use, or why there is none.
fn go_toolchain() -> Result<PathBuf, String> {
    if let Some(go) = std::env::var_os("GO") {
        return if go.is_empty() {
            Err("GO is empty".into())
        } else {
            Ok(go.into())
        };
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")));
    if let Some(go) = cache.map(|c| c.join("groupwait/go-venv/bin/go")) {
        if go.exists() {
            return Ok(go);
        }
    }
    match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => Ok("go".into()),
        _ => Err("no Go toolchain (set GO, or run scripts/bench.sh once to install one)".into()),
    }
}

/// Builds benches/go/ into a test binary and returns its path and Go's version.
fn build_go() -> Result<(PathBuf, String), String> {
    let go = go_toolchain()?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("go");
    let bin = Path::new(env!("CARGO_TARGET_TMPDIR")).join("errgroup.test");
    let mut cmd = Command::new(&go);
    cmd.current_dir(&dir).env("GOTOOLCHAIN", "local");
    let out = cmd
        .args(["test", "-c", "-o"])
        .arg(&bin)
        .output()
        .map_err(|e| format!("{}: {e}", go.display()))?;
    if !out.status.success() {
        return Err(format!(
            "go test -c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let version = Command::new(&go)
        .arg("version")
        .env("GOTOOLCHAIN", "local")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Ok((bin, version))
}

/// A Go cell: one run of the test binary for `name` (20 rounds after Go's warm-up round, with
/// `GOMAXPROCS` = `cpu`), returning Go's time per round (ns/op).
fn go_cell(bin: &Path, name: &'static str, cpu: usize) -> Round {
    let bin = bin.to_path_buf();
    Box::new(move || {
        let out = Command::new(&bin)
            .args([
                "-test.run",
                "^$",
                "-test.benchtime",
                "20x",
                "-test.count",
                "1",
            ])
            .arg("-test.bench")
            .arg(format!("^BenchmarkErrgroup$/^{name}$"))
            .arg("-test.cpu")
            .arg(cpu.to_string())
            .output()
            .expect("run the Go benchmark");
        let text = String::from_utf8_lossy(&out.stdout);
        let ns: f64 = text
            .lines()
            .filter(|l| l.starts_with("BenchmarkErrgroup/"))
            .find_map(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                let at = fields.iter().position(|f| *f == "ns/op")?;
                fields[at - 1].parse().ok()
            })
            .unwrap_or_else(|| panic!("no ns/op in the Go output:\n{text}"));
        Duration::from_nanos(ns as u64)
    })
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments: do one quick
    // pass only when asked to bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let opts = Opts::parse();
    let mut sink = Sink::new(opts.out.clone());
    let titles = [
        "async, current-thread runtime",
        "async, multi-thread runtime (2 workers)",
        "threads",
        "threads, 1,000 per round",
    ];
    let go = if titles.iter().any(|t| opts.selects(t)) {
        build_go()
    } else {
        Err("no shape with Go rows selected".into())
    };
    let with_go =
        |mut cells: Vec<(&'static str, Round)>, go_cells: &[(&'static str, &'static str)], cpu| {
            if let Ok((bin, _)) = &go {
                for (label, name) in go_cells {
                    cells.push((*label, go_cell(bin, name, cpu)));
                }
            }
            cells
        };
    match &go {
        Ok((_, version)) => println!("Go: {version}"),
        Err(why) => println!("Go: not run ({why})"),
    }
    if opts.selects(titles[0]) {
        let _ = shape(
            titles[0],
            ASYNC_TASKS,
            with_go(
                async_cells(1),
                &[
                    ("Go errgroup-shaped, GOMAXPROCS=1", "async"),
                    ("Go errgroup-shaped + context, GOMAXPROCS=1", "async_ctx"),
                ],
                1,
            ),
        );
    }
    if opts.selects(titles[1]) {
        let _ = shape(
            titles[1],
            ASYNC_TASKS,
            with_go(
                async_cells(2),
                &[
                    ("Go errgroup-shaped, GOMAXPROCS=2", "async"),
                    ("Go errgroup-shaped + context, GOMAXPROCS=2", "async_ctx"),
                ],
                2,
            ),
        );
    }
    if opts.selects(titles[2]) {
        let recorded = shape(
            titles[2],
            THREADS,
            with_go(
                thread_cells(THREADS),
                &[
                    ("Go errgroup-shaped, GOMAXPROCS=2", "threads"),
                    ("Go errgroup-shaped + context, GOMAXPROCS=2", "threads_ctx"),
                    (
                        "Go errgroup-shaped, limit 2, GOMAXPROCS=2",
                        "threads_limit2",
                    ),
                ],
                2,
            ),
        );
        record_threads(&mut sink, THREADS, &recorded);
    }
    if opts.selects(titles[3]) {
        let recorded = shape(titles[3], THREADS_LARGE, thread_cells(THREADS_LARGE));
        record_threads(&mut sink, THREADS_LARGE, &recorded);
    }
    for (title, threads) in [
        ("sweep of captured state, current-thread runtime", 1),
        (
            "sweep of captured state, multi-thread runtime (2 workers)",
            2,
        ),
    ] {
        if opts.selects(title) {
            sweep(title, threads, opts.reps(16), &mut sink);
        }
    }
}
