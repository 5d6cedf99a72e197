//! The command line the timed benches share.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options after `cargo bench -p benches --bench NAME --` (cargo's own flags, such as `--bench`, are
/// ignored).
#[derive(Debug, Default)]
pub struct Opts {
    /// `--out FILE`: append raw samples here (resolved with [`workspace_path`]).
    pub out: Option<PathBuf>,
    /// `--quick`: fewer and shorter samples (a smoke run).
    pub quick: bool,
    /// `--reps N`: timed runs per cell, instead of the bench's default.
    pub reps: Option<usize>,
    /// Words without `--`: run only the cells whose name contains one of them.
    pub filters: Vec<String>,
    /// `--profile SHAPE IMPL ITERS` (the `shapes` bench): run one shape untimed, for callgrind.
    pub profile: Option<(String, String, u64)>,
}

impl Opts {
    /// Parses the process's arguments; panics with the expected form on a malformed option.
    pub fn parse() -> Opts {
        let mut opts = Opts::default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => opts.quick = true,
                "--out" => opts.out = Some(workspace_path(args.next().expect("--out FILE"))),
                "--reps" => {
                    let n = args.next().and_then(|n| n.parse().ok());
                    opts.reps = Some(n.expect("--reps N (a number)"));
                }
                "--profile" => {
                    let usage = "--profile SHAPE IMPL ITERS (ITERS a number)";
                    let shape = args.next().expect(usage);
                    let imp = args.next().expect(usage);
                    let iters = args.next().and_then(|n| n.parse().ok()).expect(usage);
                    opts.profile = Some((shape, imp, iters));
                }
                s if s.starts_with("--") => {} // cargo's and libtest's flags: ignored
                s => opts.filters.push(s.to_owned()),
            }
        }
        opts
    }

    /// Whether the cell named `name` is to be run.
    pub fn selects(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Timed runs per cell: `--reps` if given, else `normal`, or a quarter of it (at least 2)
    /// with `--quick`.
    pub fn reps(&self, normal: usize) -> usize {
        match self.reps {
            Some(n) => n.max(1),
            None if self.quick => (normal / 4).max(2),
            None => normal,
        }
    }

    /// The length of one timed run: `normal`, or a quarter of it with `--quick`.
    ///
    /// Short runs, many of them, and their median: a burst of load from another process
    /// (a time slice of a few ms taken from one of our threads) then spoils a few samples
    /// instead of adding to every one, as it would to a single long run's mean.
    pub fn sample_time(&self, normal: Duration) -> Duration {
        if self.quick {
            normal / 4
        } else {
            normal
        }
    }
}

/// `path` as given if absolute, else taken from the workspace root (the folder above this
/// package). `cargo bench` runs a bench in the package's folder, `benches/`, so a relative
/// path would otherwise land there instead of where the command was typed.
pub fn workspace_path(path: impl Into<PathBuf>) -> PathBuf {
    let path = path.into();
    if path.is_absolute() {
        return path;
    }
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    package.parent().unwrap_or(package).join(path)
}
