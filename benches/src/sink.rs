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

/// [`interleave`], with the order changed each round so that each implementation comes after
/// each other one about equally often: for benches where one round leaves state that the next
/// inherits (the allocator's free lists after 10,000 freed tasks). A fixed order always puts
/// the same implementation after the same one, and so does a plain rotation (`r, r+1, ...`:
/// implementation `i` follows `i - 1` in all but one round of `cases`).
///
/// The orders are the rows of a balanced Latin square (Williams'): round `r` runs
/// `(w[k] + r) % cases` for `w = 0, 1, n-1, 2, n-2, ...`; with an even `cases` every ordered
/// pair occurs once within each `cases` rounds, with an odd one the rows are followed by their
/// reverses (every pair twice in `2 * cases` rounds). Each implementation also comes first
/// equally often.
pub fn interleave_balanced(
    reps: usize,
    cases: usize,
    mut sample: impl FnMut(usize, &mut Vec<f64>),
) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::with_capacity(reps); cases];
    let first = balanced_row(cases);
    for r in 0..reps {
        let shift = r % cases;
        let reversed = cases % 2 == 1 && (r / cases) % 2 == 1;
        for k in 0..cases {
            let k = if reversed { cases - 1 - k } else { k };
            let i = (first[k] + shift) % cases;
            sample(i, &mut samples[i]);
        }
    }
    samples
}

/// `0, 1, n-1, 2, n-2, ...`: the first row of a Williams design for `n` treatments.
fn balanced_row(n: usize) -> Vec<usize> {
    let (mut low, mut high) = (1, n.saturating_sub(1));
    let mut row = Vec::with_capacity(n);
    if n > 0 {
        row.push(0);
    }
    while row.len() < n {
        row.push(low);
        low += 1;
        if row.len() < n {
            row.push(high);
            high -= 1;
        }
    }
    row
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

impl Sink {
    /// Records a size in bytes (one row: `section, cell, 0, implementation, bytes`) and prints
    /// it: what a sweep's task carries, next to its timings.
    pub fn record_bytes(&mut self, section: &str, cell: &str, imp: &str, bytes: usize) {
        if let Some(file) = &mut self.file {
            writeln!(file, "{section}\t{cell}\t0\t{imp}\t{bytes}").expect("write a size");
        }
        println!("{section:<7} {cell:<28}     {imp:<16} {bytes:>12} bytes per spawned future");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which implementation came right after which, within rounds, over `reps` rounds.
    fn successions(cases: usize, reps: usize) -> Vec<Vec<usize>> {
        let mut order = Vec::new();
        interleave_balanced(reps, cases, |i, out| {
            order.push(i);
            out.push(0.0);
        });
        let mut pairs = vec![vec![0; cases]; cases];
        for round in order.chunks(cases) {
            let mut seen = round.to_vec();
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..cases).collect::<Vec<_>>(),
                "each case once a round"
            );
            for w in round.windows(2) {
                pairs[w[0]][w[1]] += 1;
            }
        }
        pairs
    }

    #[test]
    fn every_ordered_pair_occurs_equally_often() {
        for (cases, period, times) in [(2, 2, 1), (3, 6, 2), (4, 4, 1), (5, 10, 2), (6, 6, 1)] {
            let pairs = successions(cases, period);
            for (a, row) in pairs.iter().enumerate() {
                for (b, &n) in row.iter().enumerate() {
                    assert_eq!(
                        n,
                        if a == b { 0 } else { times },
                        "{cases} cases: {a} then {b}"
                    );
                }
            }
        }
    }
}
