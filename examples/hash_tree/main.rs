//! Hash a directory tree (or one file) with BLAKE3 on a pool of worker threads, with a live
//! progress bar.
//!
//! ```text
//! cargo run --release --example hash_tree [--list] [--limit N] [--fail-fast] [PATH]
//! ```
//!
//! PATH defaults to the current directory; below it, `target` and `.git` directories are
//! skipped. PATH may also be a single file, which is then hashed. The summary ends with a
//! combined digest (BLAKE3 over the sorted `(path, hash)` pairs), so two runs over the same
//! tree can be compared at a glance; `--list` prints `HASH  PATH` for every file on stdout and
//! moves the summary to stderr, so `hash_tree --list > hashes.txt` keeps only the hashes.
//!
//! What it shows:
//!
//! * **An owned guard per job, counted up front.** The pool's workers are plain
//!   `std::thread::spawn` threads and its jobs must be `'static`, like those of `rayon::spawn`
//!   or `tokio::task::spawn_blocking`, so a borrowing `wg.guard()` cannot go into them. The
//!   main thread makes one job per file, each holding a `wg.guard_owned()` (an `Arc` of the
//!   group and one unit), and queues them all before any worker starts: the counter is the
//!   number of files still to hash from the first moment anyone looks at it.
//! * **`count` + `wait_timeout_outcome` for progress.** The main thread does not block
//!   blindly in `wait`: it loops on `wg.wait_timeout_outcome(50ms)`, and each time that gives
//!   up it redraws the bar at `total - wg.count()`. The loop ends exactly when the last job
//!   has dropped its guard.
//! * **Panic safety without `catch_unwind`.** A job that panics drops its guard while
//!   unwinding, which calls `done` (the waiter is not left blocked) and records the panic on
//!   the group: `wait_timeout_outcome` then returns `Err(Panicked)` instead of `Ok(true)`, so a
//!   failed job is never mistaken for a finished one, and the file is reported as failed. The
//!   panic takes its worker down (as an uncaught panic does on most pools); the other workers
//!   go on, and jobs left in the queue when the last worker is gone are dropped, which gives
//!   their units back.
//!
//! With `--limit N` or `--fail-fast` the files are hashed by a task group instead
//! (`grouped.rs`): one task per file, at most N at once, and with `--fail-fast` the first
//! file that cannot be read cancels the rest. The summary then lists that failure first and
//! counts the cancelled files on a line of their own, apart from the files that failed.
//!
//! Files that cannot be read, and directories that cannot be listed, are reported (the first
//! ten reasons) and the run goes on. The exit status is 0 when every file was hashed and 2
//! otherwise, as it is for bad arguments or a missing PATH.

mod grouped;
#[cfg(test)]
mod tests;

use groupwait::{OwnedGuard, WaitGroup};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};
use walkdir::WalkDir;

const USAGE: &str = "\
usage: hash_tree [--list] [--limit N] [--fail-fast] [PATH]

Hashes every regular file under PATH (default: the current directory), or PATH itself if it
is a file, with BLAKE3 on all CPUs, skipping `target` and `.git` directories, and prints a
summary with a combined digest.

  --list       print `HASH  PATH` for every file hashed on stdout; the summary goes to stderr
  --limit N    hash with a task group, one task per file, at most N at once
  --fail-fast  hash with a task group (limit: the number of CPUs unless --limit is given);
               the first file that cannot be read cancels the rest
  -h, --help   print this help

Exit status: 0 if every file was hashed; 2 on bad arguments, a missing PATH, or any file or
directory that could not be read.";

/// Directory names never descended into (below PATH itself).
const SKIPPED_DIRS: [&str; 2] = ["target", ".git"];

/// How often the progress bar is redrawn while the workers run.
const TICK: Duration = Duration::from_millis(50);

/// How many failure reasons the summary lists.
const SHOWN_FAILURES: usize = 10;

/// The exit status for every kind of failure.
const FAILURE: u8 = 2;

struct Options {
    path: PathBuf,
    list: bool,
    /// `--limit N`: hash with a task group of at most N running tasks.
    limit: Option<usize>,
    fail_fast: bool,
}

/// A file hashed in full.
struct Hashed {
    hash: blake3::Hash,
    bytes: u64,
}

/// Why a file was not hashed.
enum NotHashed {
    /// It could not be read: why.
    Failed(String),
    /// `--fail-fast` cancelled it after another file failed: it never started, or it stopped
    /// between two blocks.
    Cancelled,
}

/// What became of one file.
type Outcome = Result<Hashed, NotHashed>;

/// A file or directory that could not be read, and why.
struct Failure {
    path: PathBuf,
    reason: String,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hash_tree: {message}");
            ExitCode::from(FAILURE)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let Some(options) = parse_args(std::env::args_os().skip(1))? else {
        println!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    };
    let root = &options.path;
    if !root.exists() {
        return Err(format!("no such file or directory: {}", root.display()));
    }

    let walk_started = Instant::now();
    let (files, mut failures) = collect_files(root);
    let walk_time = walk_started.elapsed();
    let unlisted_dirs = failures.len();

    let n = files.len();
    if i32::try_from(n).is_err() {
        return Err(format!(
            "cannot count {n} files in one WaitGroup (at most {})",
            i32::MAX
        ));
    }
    let bar = progress_bar(n);
    let bytes_done = Arc::new(AtomicU64::new(0));
    let hash_started = Instant::now();
    let grouped = options.fail_fast || options.limit.is_some();
    let (outcomes, cause, workers) = if grouped {
        let limit = options.limit.unwrap_or_else(cpus);
        let (outcomes, cause) =
            grouped::hash_files(&files, limit, options.fail_fast, &bar, &bytes_done);
        (outcomes, cause, limit.min(n.max(1)))
    } else {
        let (outcomes, workers) = hash_on_pool(&files, &bar, &bytes_done);
        (outcomes, None, workers)
    };
    bar.set_position(n as u64);
    bar.set_message(HumanBytes(bytes_done.load(Ordering::Relaxed)).to_string());
    finish_bar(&bar);
    let hash_time = hash_started.elapsed();

    let mut hashed = Vec::with_capacity(n);
    let mut failed_files = Vec::new();
    let mut first_failure = None;
    let mut cancelled = 0;
    for (index, (path, outcome)) in files.into_iter().zip(outcomes).enumerate() {
        match outcome {
            Ok(file) => hashed.push((relative(root, &path).to_path_buf(), file)),
            Err(NotHashed::Failed(reason)) if cause == Some(index) => {
                first_failure = Some(Failure { path, reason });
            }
            Err(NotHashed::Failed(reason)) => failed_files.push(Failure { path, reason }),
            Err(NotHashed::Cancelled) => cancelled += 1,
        }
    }
    hashed.sort_by(|a, b| a.0.cmp(&b.0));
    failures.append(&mut failed_files);
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    // The failure that cancelled the rest goes first: it is why the others were not hashed.
    let caused_cancellation = first_failure.is_some();
    if let Some(failure) = first_failure {
        failures.insert(0, failure);
    }

    let report = Report {
        root,
        hashed: &hashed,
        failures: &failures,
        unlisted_dirs,
        caused_cancellation,
        cancelled,
        workers,
        walk_time,
        hash_time,
    };
    match report.print(options.list) {
        Ok(()) => {}
        // `hash_tree --list | head`: the reader has seen enough.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        Err(error) => return Err(format!("cannot write the report: {error}")),
    }
    Ok(if failures.is_empty() && cancelled == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILURE)
    })
}

/// Hashes `files` on a pool of worker threads, one job per file holding an owned unit of a
/// `WaitGroup`; returns each file's outcome, in order, and the number of workers.
fn hash_on_pool(
    files: &[PathBuf],
    bar: &ProgressBar,
    bytes_done: &Arc<AtomicU64>,
) -> (Vec<Outcome>, usize) {
    let n = files.len();
    let wg = Arc::new(WaitGroup::new());
    let shared = Arc::new(Shared {
        slots: files.iter().map(|_| OnceLock::new()).collect(),
        started: files.iter().map(|_| AtomicBool::new(false)).collect(),
        files: files.to_vec(),
        bytes_done: Arc::clone(bytes_done),
    });

    // One job per file, each holding an owned unit of the group, all queued (and so counted)
    // before the first worker starts.
    let (queue, jobs) = mpsc::channel::<Job>();
    for index in 0..n {
        let job = Job {
            index,
            _unit: wg.guard_owned(),
        };
        // The receiver is alive: it is moved to the workers below.
        queue.send(job).expect("the job queue is open");
    }
    drop(queue);

    let workers = cpus().min(n.max(1));
    let jobs = Arc::new(Mutex::new(jobs));
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let (jobs, shared) = (Arc::clone(&jobs), Arc::clone(&shared));
        match thread::Builder::new()
            .name(format!("hash-{i}"))
            .spawn(move || work(&jobs, &shared))
        {
            Ok(handle) => handles.push(handle),
            Err(error) => {
                bar.suspend(|| eprintln!("hash_tree: could not start worker {i}: {error}"));
                break;
            }
        }
    }
    if handles.is_empty() {
        // Nobody else will take the files: hash them here, or the wait below never ends.
        work(&jobs, &shared);
    }
    // Once the workers are gone, the queue goes with them (and any job left in it).
    drop(jobs);

    let total = n as u64;
    let panicked = loop {
        match wg.wait_timeout_outcome(TICK) {
            Ok(true) => break None,
            Ok(false) => {
                bar.set_position(total.saturating_sub(wg.count() as u64));
                bar.set_message(HumanBytes(bytes_done.load(Ordering::Relaxed)).to_string());
            }
            Err(report) => break Some(report),
        }
    };
    // Every job is over (its unit given back); the workers end as the queue is empty.
    let lost_workers = handles
        .into_iter()
        .map(|handle| handle.join())
        .filter(Result::is_err)
        .count();
    if let Some(report) = &panicked {
        bar.suspend(|| eprintln!("hash_tree: {report} ({lost_workers} worker(s) lost)"));
    }

    // Every slot was filled before its job dropped its unit; the workers have been joined,
    // so `shared` is ours alone again.
    let Shared { slots, started, .. } = Arc::into_inner(shared).expect("the workers are joined");
    let outcomes = slots
        .into_iter()
        .zip(started)
        .map(|(slot, started)| match slot.into_inner() {
            Some(outcome) => outcome,
            None if started.into_inner() => {
                Err(NotHashed::Failed("the hashing job panicked".to_string()))
            }
            None => Err(NotHashed::Failed(
                "never hashed (its worker was lost)".to_string(),
            )),
        })
        .collect();
    (outcomes, workers)
}

/// The number of CPUs this process may use (1 if unknown).
fn cpus() -> usize {
    thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Reads the command line; `Ok(None)` asks for the help text.
fn parse_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Option<Options>, String> {
    let mut path = None;
    let mut list = false;
    let mut limit = None;
    let mut fail_fast = false;
    let mut flags_done = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let is_flag = !flags_done && arg.to_string_lossy().starts_with('-') && arg != "-";
        if is_flag {
            match arg.to_str() {
                Some("--list") => list = true,
                Some("--fail-fast") => fail_fast = true,
                Some("--limit") => limit = Some(parse_limit(args.next())?),
                Some("-h" | "--help") => return Ok(None),
                Some("--") => flags_done = true,
                _ => return Err(format!("unknown option {}\n{USAGE}", arg.to_string_lossy())),
            }
        } else if path.is_none() {
            path = Some(PathBuf::from(arg));
        } else {
            return Err(format!(
                "more than one PATH given ({})\n{USAGE}",
                arg.to_string_lossy()
            ));
        }
    }
    Ok(Some(Options {
        path: path.unwrap_or_else(|| PathBuf::from(".")),
        list,
        limit,
        fail_fast,
    }))
}

/// The value of `--limit`: a number above 0. The error repeats what was given.
fn parse_limit(value: Option<std::ffi::OsString>) -> Result<usize, String> {
    let Some(value) = value else {
        return Err(format!("--limit needs a number above 0\n{USAGE}"));
    };
    let text = value.to_string_lossy();
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        Err(error) if *error.kind() == std::num::IntErrorKind::PosOverflow => Err(format!(
            "--limit {text} is too large: at most {}\n{USAGE}",
            usize::MAX
        )),
        _ => Err(format!(
            "--limit needs a number above 0, not `{text}`\n{USAGE}"
        )),
    }
}

/// Every regular file under `root` in name order, each directory's entries sorted (symbolic
/// links are not followed), and the directories that could not be listed. The order is the
/// order of hashing with `--limit` and `--fail-fast`, so a run cancels the same files each
/// time.
fn collect_files(root: &Path) -> (Vec<PathBuf>, Vec<Failure>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let walk = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let skipped = entry.depth() > 0
                && entry.file_type().is_dir()
                && SKIPPED_DIRS.iter().any(|name| entry.file_name() == *name);
            !skipped
        });
    for entry in walk {
        match entry {
            Ok(entry) if entry.file_type().is_file() => files.push(entry.into_path()),
            Ok(_) => {}
            Err(error) => failures.push(Failure {
                path: error.path().unwrap_or(root).to_path_buf(),
                reason: match error.io_error() {
                    Some(io) => format!("cannot list: {io}"),
                    None => error.to_string(),
                },
            }),
        }
    }
    (files, failures)
}

/// What the workers share with the main thread.
struct Shared {
    files: Vec<PathBuf>,
    /// One result per file, filled by the job that hashed it.
    slots: Vec<OnceLock<Outcome>>,
    /// Set when a job starts hashing its file: a started job without a result panicked.
    started: Vec<AtomicBool>,
    bytes_done: Arc<AtomicU64>,
}

/// One file to hash, and its unit of the group. The unit is given back when the job is
/// dropped: after hashing, during a panic while hashing (recorded for the waiter), or unrun
/// if the queue is dropped.
struct Job {
    index: usize,
    _unit: OwnedGuard,
}

/// A worker: runs jobs until the queue is empty. A panic in a job ends the worker (no
/// `catch_unwind`: the job's guard does the bookkeeping).
fn work(jobs: &Mutex<mpsc::Receiver<Job>>, shared: &Shared) {
    loop {
        // The lock is held only to take a job (a worker that panicked held none).
        let next = jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = next else {
            return;
        };
        // Relaxed: read after the join, which orders it.
        shared.started[job.index].store(true, Ordering::Relaxed);
        let outcome = hash_file(&shared.files[job.index]);
        if let Ok(file) = &outcome {
            shared.bytes_done.fetch_add(file.bytes, Ordering::Relaxed);
        }
        // Each index is queued once, so the slot is empty.
        let _ = shared.slots[job.index].set(outcome);
        drop(job); // `done`, after the result is stored: the waiter sees it
    }
}

fn hash_file(path: &Path) -> Outcome {
    hash_reader(open(path)?, || false)
}

/// Opens `path` for hashing.
fn open(path: &Path) -> Result<File, NotHashed> {
    File::open(path).map_err(|error| NotHashed::Failed(format!("cannot open: {error}")))
}

/// Hashes what `reader` gives, a block at a time, giving up (cancelled) if `stop()` turns
/// true between blocks.
fn hash_reader(mut reader: impl Read, stop: impl Fn() -> bool) -> Outcome {
    let mut hasher = blake3::Hasher::new();
    let mut block = vec![0; 1 << 16];
    loop {
        if stop() {
            return Err(NotHashed::Cancelled);
        }
        match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&block[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(NotHashed::Failed(format!("cannot read: {error}"))),
        }
    }
    Ok(Hashed {
        hash: hasher.finalize(),
        bytes: hasher.count(),
    })
}

/// A bar over the file count, drawn on stderr (hidden when stderr is not a terminal).
fn progress_bar(files: usize) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{wide_bar}] {pos}/{len} files, {msg} (eta {eta})",
    )
    .map_or_else(
        |_| ProgressStyle::default_bar(),
        |style| style.progress_chars("=> "),
    );
    ProgressBar::new(files as u64)
        .with_style(style)
        .with_message(HumanBytes(0).to_string())
}

/// Leaves the finished bar on its own line. Its last draw ends without a newline (the cursor
/// stays on the bar, to redraw it in place), so without this the summary would start on the
/// bar's line, as it does in a captured log.
fn finish_bar(bar: &ProgressBar) {
    bar.finish();
    if !bar.is_hidden() {
        eprintln!();
    }
}

/// `n` followed by the right form of its noun.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `path` without the `root` prefix, for display and for the combined digest.
fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    match path.strip_prefix(root) {
        Ok(rest) if !rest.as_os_str().is_empty() => rest,
        _ => path,
    }
}

struct Report<'a> {
    root: &'a Path,
    hashed: &'a [(PathBuf, Hashed)],
    failures: &'a [Failure],
    /// How many of `failures` are directories that could not be listed.
    unlisted_dirs: usize,
    /// Whether `failures[0]` is the failure that cancelled the rest (`--fail-fast`).
    caused_cancellation: bool,
    /// Files not hashed because of that failure (not in `failures`).
    cancelled: usize,
    workers: usize,
    walk_time: Duration,
    hash_time: Duration,
}

impl Report<'_> {
    /// The summary on stdout; with `list`, the hashes on stdout and the summary on stderr, so
    /// that stdout holds nothing but `HASH  PATH` lines.
    fn print(&self, list: bool) -> io::Result<()> {
        let mut out = BufWriter::new(io::stdout().lock());
        if list {
            for (path, file) in self.hashed {
                writeln!(out, "{}  {}", file.hash, path.display())?;
            }
            out.flush()?;
            let mut err = BufWriter::new(io::stderr().lock());
            self.summary(&mut err)?;
            err.flush()
        } else {
            self.summary(&mut out)?;
            out.flush()
        }
    }

    fn summary(&self, out: &mut impl Write) -> io::Result<()> {
        let bytes: u64 = self.hashed.iter().map(|(_, file)| file.bytes).sum();
        let seconds = self.hash_time.as_secs_f64();
        let mib_per_s = if seconds > 0.0 {
            bytes as f64 / (1024.0 * 1024.0) / seconds
        } else {
            0.0
        };
        writeln!(out, "path:      {}", self.root.display())?;
        writeln!(
            out,
            "hashed:    {}, {} ({bytes} bytes)",
            counted(self.hashed.len(), "file", "files"),
            HumanBytes(bytes)
        )?;
        writeln!(
            out,
            "time:      {:.2?} on {} ({mib_per_s:.1} MiB/s), after a {:.2?} walk",
            self.hash_time,
            counted(self.workers, "worker", "workers"),
            self.walk_time
        )?;
        let failed_files = counted(self.failures.len() - self.unlisted_dirs, "file", "files");
        match self.unlisted_dirs {
            0 => writeln!(out, "failed:    {failed_files}")?,
            dirs => writeln!(
                out,
                "failed:    {failed_files}, and {} not listed",
                counted(dirs, "directory", "directories")
            )?,
        }
        if self.cancelled > 0 {
            writeln!(
                out,
                "cancelled: {} not hashed, after the first failure (--fail-fast)",
                counted(self.cancelled, "file", "files")
            )?;
        }
        writeln!(out, "digest:    {}", self.digest())?;

        if !self.failures.is_empty() {
            let shown = self.failures.len().min(SHOWN_FAILURES);
            if shown < self.failures.len() {
                writeln!(out, "first {shown} of {} failures:", self.failures.len())?;
            } else {
                writeln!(out, "failures:")?;
            }
            for (i, failure) in self.failures[..shown].iter().enumerate() {
                write!(
                    out,
                    "  {}: {}",
                    relative(self.root, &failure.path).display(),
                    failure.reason
                )?;
                if i == 0 && self.caused_cancellation {
                    write!(out, " (the first failure: it cancelled the rest)")?;
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }

    /// BLAKE3 over the sorted `(path, hash)` pairs: each path's bytes, a NUL, then the 32
    /// bytes of its hash. Equal trees give equal digests wherever they are.
    fn digest(&self) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new();
        for (path, file) in self.hashed {
            hasher.update(path.as_os_str().as_encoded_bytes());
            hasher.update(&[0]);
            hasher.update(file.hash.as_bytes());
        }
        hasher.finalize()
    }
}
