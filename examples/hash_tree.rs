//! Hash a directory tree with BLAKE3 on a pool of worker threads, with a live progress bar.
//!
//! ```text
//! cargo run --release --example hash_tree [--list] [DIR]
//! ```
//!
//! DIR defaults to the current directory; `target` and `.git` directories are skipped.
//! The summary ends with a combined digest (BLAKE3 over the sorted `(path, hash)` pairs), so
//! two runs over the same tree can be compared at a glance; `--list` also prints
//! `HASH  PATH` for every file.
//!
//! What it shows:
//!
//! * **One unit per file, counted up front.** The walk finds `n` files and the main thread
//!   calls `wg.try_add(n)` before any worker starts, so the counter is the number of files
//!   still to hash from the first moment anyone looks at it. `try_add` turns a count that
//!   does not fit the 32-bit counter into an error message instead of a panic.
//! * **`count` + `wait_timeout` for progress.** Workers take files from a shared queue and call
//!   `wg.done()` once per file. The main thread does not block blindly in `wait`: it loops on
//!   `wg.wait_timeout(50ms)`, and each time that gives up it redraws the bar at
//!   `total - wg.count()`. The loop ends exactly when the last file is done.
//! * **Panic safety.** A task that panics before its `done` leaves the waiter blocked forever,
//!   in Go as here. So each file is hashed under `catch_unwind` and its `done` is reached
//!   whatever happens: a panic becomes one failed file, and the worker goes on with the next.
//!   Where a task cannot catch its own panics (a thread per task, say), take a `wg.guard()`
//!   for it instead, or spawn it with `wg.go_scoped`: their `done` runs during unwinding, and
//!   `wait` then panics too, so the failure is not mistaken for success. (Here the guard
//!   would not fit: `guard()` adds its own unit, and the files are already counted.)
//!
//! Files that cannot be read, and directories that cannot be listed, are reported (the first
//! ten reasons) and the run goes on. The exit status is 0 when every file was hashed and 2
//! otherwise, as it is for bad arguments or a missing directory.

use groupwait::WaitGroup;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::any::Any;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};
use walkdir::WalkDir;

const USAGE: &str = "\
usage: hash_tree [--list] [DIR]

Hashes every regular file under DIR (default: the current directory) with BLAKE3 on all
CPUs, skipping `target` and `.git` directories, and prints a summary with a combined digest.

  --list      also print `HASH  PATH` for every file hashed
  -h, --help  print this help

Exit status: 0 if every file was hashed; 2 on bad arguments, a missing directory, or any
file or directory that could not be read.";

/// Directory names never descended into (below DIR itself).
const SKIPPED_DIRS: [&str; 2] = ["target", ".git"];

/// How often the progress bar is redrawn while the workers run.
const TICK: Duration = Duration::from_millis(50);

/// How many failure reasons the summary lists.
const SHOWN_FAILURES: usize = 10;

/// The exit status for every kind of failure.
const FAILURE: u8 = 2;

struct Options {
    dir: PathBuf,
    list: bool,
}

/// A file hashed in full.
struct Hashed {
    hash: blake3::Hash,
    bytes: u64,
}

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
    let root = &options.dir;
    if !root.is_dir() {
        return Err(format!("no such directory: {}", root.display()));
    }

    let walk_started = Instant::now();
    let (files, mut failures) = collect_files(root);
    let walk_time = walk_started.elapsed();
    let unlisted_dirs = failures.len();

    // One unit per file, all counted before the first worker starts.
    let wg = WaitGroup::new();
    let n = files.len();
    // (A `Vec` never holds more than `isize::MAX` items; the group refuses far fewer.)
    let delta = isize::try_from(n).unwrap_or(isize::MAX);
    wg.try_add(delta)
        .map_err(|error| format!("cannot count {n} files in one WaitGroup: {error}"))?;

    let workers = thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(n.max(1));
    let next = AtomicUsize::new(0);
    let slots: Vec<OnceLock<Result<Hashed, String>>> =
        files.iter().map(|_| OnceLock::new()).collect();
    let bytes_done = AtomicU64::new(0);
    let pool = Pool {
        files: &files,
        next: &next,
        slots: &slots,
        bytes_done: &bytes_done,
        wg: &wg,
    };

    let bar = progress_bar(n);
    let hash_started = Instant::now();
    thread::scope(|s| {
        let mut started = 0;
        for i in 0..workers {
            match thread::Builder::new()
                .name(format!("hash-{i}"))
                .spawn_scoped(s, || pool.work())
            {
                Ok(_) => started += 1,
                Err(error) => {
                    bar.suspend(|| eprintln!("hash_tree: could not start worker {i}: {error}"));
                    break;
                }
            }
        }
        if started == 0 {
            // Nobody else will take the files: hash them here, or the wait below never ends.
            pool.work();
        }

        let total = n as u64;
        while !wg.wait_timeout(TICK) {
            bar.set_position(total.saturating_sub(wg.count() as u64));
            bar.set_message(HumanBytes(bytes_done.load(Ordering::Relaxed)).to_string());
        }
        bar.set_position(total);
        bar.set_message(HumanBytes(bytes_done.load(Ordering::Relaxed)).to_string());
        bar.finish();
    });
    let hash_time = hash_started.elapsed();

    // Every slot was filled before its file's `done`; the scope has joined the workers.
    let mut hashed = Vec::with_capacity(n);
    for (path, slot) in files.into_iter().zip(slots) {
        match slot.into_inner() {
            Some(Ok(file)) => hashed.push((relative(root, &path).to_path_buf(), file)),
            Some(Err(reason)) => failures.push(Failure { path, reason }),
            None => failures.push(Failure {
                path,
                reason: "never hashed".to_string(),
            }),
        }
    }
    hashed.sort_by(|a, b| a.0.cmp(&b.0));
    failures.sort_by(|a, b| a.path.cmp(&b.path));

    let report = Report {
        root,
        hashed: &hashed,
        failures: &failures,
        unlisted_dirs,
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
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILURE)
    })
}

/// Reads the command line; `Ok(None)` asks for the help text.
fn parse_args(args: impl Iterator<Item = std::ffi::OsString>) -> Result<Option<Options>, String> {
    let mut dir = None;
    let mut list = false;
    let mut flags_done = false;
    for arg in args {
        let is_flag = !flags_done && arg.to_string_lossy().starts_with('-') && arg != "-";
        if is_flag {
            match arg.to_str() {
                Some("--list") => list = true,
                Some("-h" | "--help") => return Ok(None),
                Some("--") => flags_done = true,
                _ => return Err(format!("unknown option {}\n{USAGE}", arg.to_string_lossy())),
            }
        } else if dir.is_none() {
            dir = Some(PathBuf::from(arg));
        } else {
            return Err(format!(
                "more than one DIR given ({})\n{USAGE}",
                arg.to_string_lossy()
            ));
        }
    }
    Ok(Some(Options {
        dir: dir.unwrap_or_else(|| PathBuf::from(".")),
        list,
    }))
}

/// Every regular file under `root` (symbolic links are not followed), and the directories
/// that could not be listed.
fn collect_files(root: &Path) -> (Vec<PathBuf>, Vec<Failure>) {
    let mut files = Vec::new();
    let mut failures = Vec::new();
    let walk = WalkDir::new(root).into_iter().filter_entry(|entry| {
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

/// What the workers share. Files are handed out by a shared cursor: each `fetch_add` takes
/// the next index, so every file goes to exactly one worker.
struct Pool<'a> {
    files: &'a [PathBuf],
    next: &'a AtomicUsize,
    slots: &'a [OnceLock<Result<Hashed, String>>],
    bytes_done: &'a AtomicU64,
    wg: &'a WaitGroup,
}

impl Pool<'_> {
    /// Hashes files until none are left, one `done` per file.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(path) = self.files.get(i) else {
                return;
            };
            // A panic while hashing must not skip the `done` below (the waiter would wait
            // forever) nor kill this worker: it becomes this file's failure.
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| hash_file(path)))
                .unwrap_or_else(|payload| Err(format!("panicked: {}", panic_text(&*payload))));
            if let Ok(file) = &outcome {
                self.bytes_done.fetch_add(file.bytes, Ordering::Relaxed);
            }
            // Index `i` was handed out once, so the slot is empty.
            let _ = self.slots[i].set(outcome);
            self.wg.done();
        }
    }
}

fn hash_file(path: &Path) -> Result<Hashed, String> {
    let file = File::open(path).map_err(|error| format!("cannot open: {error}"))?;
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_reader(file)
        .map_err(|error| format!("cannot read: {error}"))?;
    Ok(Hashed {
        hash: hasher.finalize(),
        bytes: hasher.count(),
    })
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
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
    workers: usize,
    walk_time: Duration,
    hash_time: Duration,
}

impl Report<'_> {
    fn print(&self, list: bool) -> io::Result<()> {
        let mut out = BufWriter::new(io::stdout().lock());
        if list {
            for (path, file) in self.hashed {
                writeln!(out, "{}  {}", file.hash, path.display())?;
            }
        }

        let bytes: u64 = self.hashed.iter().map(|(_, file)| file.bytes).sum();
        let seconds = self.hash_time.as_secs_f64();
        let mib_per_s = if seconds > 0.0 {
            bytes as f64 / (1024.0 * 1024.0) / seconds
        } else {
            0.0
        };
        writeln!(out, "directory: {}", self.root.display())?;
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
        writeln!(out, "digest:    {}", self.digest())?;

        if !self.failures.is_empty() {
            let shown = self.failures.len().min(SHOWN_FAILURES);
            if shown < self.failures.len() {
                writeln!(out, "first {shown} of {} failures:", self.failures.len())?;
            } else {
                writeln!(out, "failures:")?;
            }
            for failure in &self.failures[..shown] {
                writeln!(
                    out,
                    "  {}: {}",
                    relative(self.root, &failure.path).display(),
                    failure.reason
                )?;
            }
        }
        out.flush()
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
