//! The measurement helpers that groupwait's comparison benchmarks share. Each bench target of
//! this package measures one thing and leaves the how to these modules:
//!
//! | bench target | measures |
//! |---|---|
//! | `shapes` | Go's six `sync.WaitGroup` benchmark shapes, with `b.RunParallel` semantics |
//! | `wake` | the wake latency of a sleeping waiter, against a raw futex |
//! | `fanout` | one round of `N` new threads that each call `done`, then `wait` |
//! | `async_fanout` | one round of 10,000 tokio tasks counted in a group, then one await |
//! | `memory` | `size_of` and heap per group and per use |
//! | `handoff` | divan micro-benchmarks of the hand-off (what the spin bound is chosen by) |
//! | `limit_queue` | 8,000 tokio tasks in line at a task group's limit of 2, against tokio's `Semaphore` |
//! | `panic_reports` | a panicked round beside 0, 20,000 and 80,000 idle groups holding old panic reports |
//! | `report` | turns the samples of one `scripts/bench.sh` run into `BENCHMARKS.md` and the chart |
//!
//! The implementations compared: `groupwait`, `crossbeam` (crossbeam-utils `sync::WaitGroup`),
//! `condvar` ([`CondvarGroup`]) and `atomic` ([`AtomicGroup`]), the bare-atomic limit of a
//! shape where it has one.
//!
//! Every timed bench takes its samples the same way ([`interleave`]): several short timed runs
//! per cell rather than one long one, alternating between the implementations, so that on a
//! shared machine a time slice taken by another process spoils a few samples of every
//! implementation instead of inflating one. The medians are reported. Where a round leaves
//! state the next round inherits, the order changes each round ([`interleave_balanced`]).
//!
//! Options common to the timed benches ([`Opts`]), after `cargo bench -p benches --bench NAME --`:
//!
//! ```text
//! --quick        fewer and shorter samples (a smoke run)
//! --reps N       timed runs per cell (each bench has its own default)
//! --out FILE     append every sample to FILE: `section, cell, threads, impl, ns` (tab-separated)
//! TEXT ...       run only the cells whose name contains one of the TEXTs
//! ```
//!
//! `cargo bench` runs a bench with the package's folder (`benches/`) as its current directory;
//! relative paths given to `--out` (and to the report's options) are taken from the workspace
//! root instead, where a person typing the command usually is.

mod condvar;
mod groups;
mod options;
mod parallel;
mod sink;
mod state;
mod threads;
mod worker;

pub use condvar::CondvarGroup;
pub use groups::{AtomicGroup, Group};
pub use options::{workspace_path, Opts};
pub use parallel::{calibrate, local_work, run_parallel, Padded, Runner};
pub use sink::{fmt_ns, interleave, interleave_balanced, median, quantile, Sink};
pub use state::{state_cell, State, STATE_SIZES};
pub use threads::{cores, idle_pause, pin_to_core, set_spin_policy, SpinPolicy};
pub use worker::PollingWorker;
