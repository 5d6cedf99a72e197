//! Samples: how they are taken (interleaved), summarised (medians) and kept (a TSV file).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;

/// Takes `reps` rounds of samples of `cases` implementations, alternating between them within
/// each round, so that a busy period on the machine hits all of them. `sample(i, out)` takes
/// one sample (or several) of implementation `i` and pushes it to `out`. Returns each
/// implementation's samples.
pub fn interleave(
    reps: usize,
    cases: usize,
    mut sample: impl FnMut(usize, &mut Vec<f64>),
) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::with_capacity(reps); cases];
    for _ in 0..reps {
        for (i, out) in samples.iter_mut().enumerate() {
            sample(i, out);
        }
    }
    samples
}

/// [`interleave`], with the order rotated each round: round `r` takes implementation `r % cases`
/// first, then the others in turn, so each implementation follows each other one equally
/// often when `reps` is a multiple of `cases`. For benches where one round leaves state that
/// the next inherits (the allocator's free lists after 10,000 freed tasks): with a fixed order
/// the first implementation always comes after the last one's round.
pub fn interleave_rotating(
    reps: usize,
    cases: usize,
    mut sample: impl FnMut(usize, &mut Vec<f64>),
) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::with_capacity(reps); cases];
    for r in 0..reps {
        for k in 0..cases {
            let i = (r + k) % cases;
            sample(i, &mut samples[i]);
        }
    }
    samples
}

/// The `q` quantile of `samples` (0.5: the median), the nearest sample, no interpolation.
///
/// # Panics
///
/// If `samples` is empty.
pub fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() - 1) as f64 * q).round() as usize;
    s[i]
}

/// The median of `samples` (the upper one of an even count).
///
/// # Panics
///
/// If `samples` is empty.
pub fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// Nanoseconds for the console: two decimals below 100, none above.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 100.0 {
        format!("{ns:.2}")
    } else {
        format!("{ns:.0}")
    }
}

/// Prints one summary line per cell and appends the raw samples to the output file.
pub struct Sink {
    file: Option<File>,
}

impl Sink {
    /// A sink that appends to `path`, if given.
    ///
    /// # Panics
    ///
    /// If the file cannot be opened.
    pub fn new(path: Option<PathBuf>) -> Sink {
        let file = path.map(|p| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", p.display()))
        });
        Sink { file }
    }

    /// Records one cell's samples (ns per op, per round or per wake-up): one TSV row per
    /// sample, `section, cell, threads, implementation, ns`, and a summary line on stdout.
    pub fn record(
        &mut self,
        section: &str,
        cell: &str,
        threads: usize,
        imp: &str,
        samples: &[f64],
    ) {
        if let Some(file) = &mut self.file {
            let mut rows = String::new();
            for s in samples {
                writeln!(rows, "{section}\t{cell}\t{threads}\t{imp}\t{s:.3}").unwrap();
            }
            file.write_all(rows.as_bytes()).expect("write samples");
        }
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "{section:<7} {cell:<28} T={threads} {imp:<16} {:>12} ns  (min {}, max {}, {} samples)",
            fmt_ns(median(samples)),
            fmt_ns(min),
            fmt_ns(max),
            samples.len()
        );
    }
}
