//! Go's `sync.WaitGroup` for Rust: wait for a collection of tasks to finish.
//!
//! ```
//! use groupwait::WaitGroup;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! let wg = WaitGroup::new();
//! let sum = AtomicU64::new(0);
//! std::thread::scope(|s| {
//!     for n in 1..=10 {
//!         wg.add(1);
//!         let (wg, sum) = (&wg, &sum);
//!         s.spawn(move || {
//!             sum.fetch_add(n, Ordering::Relaxed);
//!             wg.done();
//!         });
//!     }
//!     wg.wait(); // every `done` happens-before this returns
//!     assert_eq!(sum.load(Ordering::Relaxed), 55);
//! });
//! ```
//!
//! # From Go
//!
//! | Go (`sync`)                 | groupwait                                        |
//! |-----------------------------|--------------------------------------------------|
//! | `var wg sync.WaitGroup`     | `let wg = WaitGroup::new();` (or a `static`)     |
//! | `wg.Add(n)`                 | [`wg.add(n)`](WaitGroup::add), or [`try_add`](WaitGroup::try_add) for a `Result` |
//! | `wg.Done()`                 | [`wg.done()`](WaitGroup::done), or drop a [`guard`](WaitGroup::guard) |
//! | `defer wg.Done()`           | `let _guard = wg.guard();`                       |
//! | `wg.Wait()`                 | [`wg.wait()`](WaitGroup::wait)                   |
//! | `wg.Go(f)` (Go 1.25)        | [`wg.go(f)`](WaitGroup::go) on an `Arc`, [`wg.go_scoped(scope, f)`](WaitGroup::go_scoped) |
//! | `select` with `time.After`  | [`wg.wait_timeout(d)`](WaitGroup::wait_timeout), [`wait_deadline`](WaitGroup::wait_deadline) |
//! | (none)                      | [`wg.count()`](WaitGroup::count), a progress snapshot |
//! | (none: `Wait` blocks)       | [`wg.wait_async().await`](WaitGroup::wait_async), beside blocking waiters |
//! | `wg.Go(f)` for a task       | [`tokio::spawn(wg.track_owned(fut))`](WaitGroup::track_owned), [`track`](WaitGroup::track) |
//! | `wg.Go(f)` on a global      | [`BG.go_static(f)`](WaitGroup::go_static) on a `static` group |
//! | `wg.Add(len(jobs))`         | [`wg.add_count(jobs.len())`](WaitGroup::add_count), no cast |
//! | `defer wg.Done()` in a pool job | [`wg.guard_owned()`](WaitGroup::guard_owned): an [`OwnedGuard`] for `'static` jobs |
//!
//! # Which wait?
//!
//! | you want | blocking | timed | async |
//! |---|---|---|---|
//! | Go's `Wait`: a task's panic is re-raised in the waiter | [`wait`](WaitGroup::wait) | [`wait_timeout`](WaitGroup::wait_timeout), [`wait_deadline`](WaitGroup::wait_deadline) | [`wait_async`](WaitGroup::wait_async) |
//! | the outcome as a value: `Err(`[`Panicked`]`)` if tasks panicked | [`wait_outcome`](WaitGroup::wait_outcome) | [`wait_timeout_outcome`](WaitGroup::wait_timeout_outcome), [`wait_deadline_outcome`](WaitGroup::wait_deadline_outcome) | [`wait_outcome_async`](WaitGroup::wait_outcome_async) |
//! | draining: the work added so far, while producers keep adding | [`wait_drained`](WaitGroup::wait_drained) | [`wait_drained_timeout`](WaitGroup::wait_drained_timeout), [`wait_drained_deadline`](WaitGroup::wait_drained_deadline) | [`wait_drained_async`](WaitGroup::wait_drained_async) |
//!
//! * **Re-raising** (`wait`): code that should fail when a task failed, as
//!   `std::thread::scope` does; tests; programs where a task's panic is a bug to crash on.
//! * **Outcome as a value** (`wait_outcome`): code that must survive a task's panic and decide
//!   what to do: a server's shutdown waiting for its request handlers, a supervisor, a batch
//!   job that reports failed items. Every waiter of the round is told; one gets the payload.
//! * **Draining** (`wait_drained`): a flush, a graceful drain, a checkpoint, where other
//!   threads may `add` at any moment. It returns once the counter has been zero after the
//!   call began (everything added before it is done) and never trips Go's checks, which
//!   forbid exactly this for `wait`. It neither re-raises nor consumes a panic report. It
//!   needs a moment with nothing in flight; work that never pauses never drains.
//! * **Timed** forms return `false` (or `Ok(false)`) when the time runs out, never before, and
//!   leave no trace; the **async** forms are cancel safe and run on any executor.
//!
//! Go's three misuse panics are kept, with Go's words: `negative WaitGroup counter`,
//! `WaitGroup misuse: Add called concurrently with Wait`, and
//! `WaitGroup is reused before previous Wait has returned`. As in Go, `add` writes first and
//! checks after; unlike Go, a panicking `add` undoes its write, leaving the group as it was
//! (threads calling at that very instant may see the write: DESIGN.md, "Write, then check"), and an `add` that would overflow the 32-bit counter panics
//! (`WaitGroup counter overflow`) instead of being silently truncated.
//!
//! # Compared with
//!
//! * `crossbeam_utils::sync::WaitGroup`: a clone per task and a single waiter that consumes
//!   the group; no `add(n)`, no timeout, no count; every count reaching zero takes a lock and a
//!   wake call. Here `add`/`done` are one atomic instruction unless someone sleeps.
//! * `std::thread::scope`: waits for its own threads and propagates their panics; a
//!   `WaitGroup` also counts work that is not a thread (jobs on a pool, requests, callbacks),
//!   can be waited on by several threads, with a timeout, and reused.
//! * A `Mutex<usize>` + `Condvar`: what this replaces, at 16 bytes and without a lock on the
//!   `add`/`done` path.
//! * tokio's `JoinSet`: owns its tasks (dropping the set aborts them), hands back each task's
//!   output in completion order, and needs `&mut` to spawn or join, so one owner drives it.
//!   A `WaitGroup` owns nothing and returns no outputs: any number of threads and tasks add
//!   work and wait through `&self`, on any executor or none, and blocking and async waiters
//!   share one group. Use `JoinSet` when you need the results or the abort handles.
//! * tokio-util's `TaskTracker`: the closest async peer: it counts tasks and futures and is
//!   waited on by many, but needs tokio, waits only once it is both closed and empty, and has
//!   no blocking wait, no timeout of its own, and no `add(n)` for work that is not a future.
//!   Here a round ends whenever the counter reaches zero (Go's rule), threads and tasks wait
//!   together, and panics of tracked futures reach the waiter. On 10,000 spawned tasks the two
//!   cost about the same per task (BENCHMARKS.md, "Async fan-out").
//!
//! # Async
//!
//! [`wait_async`](WaitGroup::wait_async) returns a [`Wait`] future that works under any
//! executor (no runtime dependency) and waits on the same group as blocking waiters: one
//! `done` releases threads and tasks together. It is cancel safe.
//! [`wait_outcome_async`](WaitGroup::wait_outcome_async) ([`WaitOutcome`]) returns the
//! outcome instead, and [`wait_drained_async`](WaitGroup::wait_drained_async) ([`Drained`])
//! drains. [`track`](WaitGroup::track) counts a future in the group while it runs:
//!
//! ```
//! use groupwait::WaitGroup;
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let wg = Arc::new(WaitGroup::new());
//! for i in 0..100 {
//!     tokio::spawn(wg.track_owned(async move { i * i }));
//! }
//! let blocking = {
//!     let wg = Arc::clone(&wg);
//!     std::thread::spawn(move || wg.wait()) // a thread waits on the same group
//! };
//! wg.wait_async().await;
//! blocking.join().unwrap();
//! # });
//! ```
//!
//! # Panics in tasks
//!
//! A task started with [`go`](WaitGroup::go) or [`go_scoped`](WaitGroup::go_scoped) that
//! panics still counts as done, and once the counter is zero every waiter of the round learns
//! of it: [`wait`](WaitGroup::wait) re-raises the payload in one waiter and panics with a
//! message saying where it went in the others; [`wait_outcome`](WaitGroup::wait_outcome)
//! returns a [`Panicked`] report (how many tasks panicked, which kind, the message; the
//! payload for one waiter). A [`Guard`] or [`OwnedGuard`] dropped by a panic also calls
//! `done`, and is reported the same way, with a fixed message. A plain `done` that is never
//! called (a task that panicked before reaching it) still blocks the waiter, as in Go: prefer
//! guards or `go`. A future run under [`track`](WaitGroup::track) that panics is treated like
//! a `go` task, and its own task fails too; so does a `go_scoped` thread, so a scope that never
//! waits still sees the failure.
//!
//! # Task groups
//!
//! For tasks that return values or errors, with a limit, first-error cancellation and
//! panics as values (Go's `errgroup`, conc's pools), see [`task_group::TaskGroup`].
//!
//! # Debugging a wait that does not return
//!
//! "My wait hangs: which task never finished?" A [`TaskGroup`](task_group::TaskGroup) can
//! say: give tasks a name where they are added ([`named`](task_group::TaskGroup::named)),
//! wait with a time-out, and list the stragglers with
//! [`pending`](task_group::TaskGroup::pending) (or print the group: its `Debug` lists them).
//!
//! ```
//! use groupwait::task_group::TaskGroup;
//! use std::time::Duration;
//!
//! let group = TaskGroup::<usize, String>::with_limit(2);
//! let (release, stuck) = std::sync::mpsc::channel::<()>();
//! group.named("fetch users").spawn(move || stuck.recv().map(|()| 1).map_err(|e| e.to_string()));
//! group.named(format!("fetch page {}", 2)).spawn(|| Ok(2));
//! group.spawn(|| Ok(3));
//!
//! if group.wait_timeout(Duration::from_millis(200)).is_none() {
//!     for task in group.pending() {
//!         eprintln!("still running: {task}");
//!     }
//! }
//! # release.send(()).unwrap();
//! # assert_eq!(group.wait(), Ok(vec![1, 2, 3]));
//! ```
//!
//! prints `still running: task 0 "fetch users": running for 200.183ms` (the submission index,
//! the name, waiting for a slot or running, and for how long: a named task is timed, an
//! unnamed one is listed without a time, so that naming nothing costs nothing). With the `tracing` feature,
//! each task also gets a span (index, name) and an event for its outcome. A plain
//! [`WaitGroup`] counts, and keeps no record per task (its 16 bytes stay as they are).
//!
//! # Memory ordering
//!
//! Each `done` happens-before the return of every `wait` (and `wait_timeout`,
//! `wait_deadline`) that it releases: writes a task made before its `done` are visible to the
//! waiter after `wait` returns. See [`WaitGroup`] for details.
//!
//! # Size and allocation
//!
//! A `WaitGroup` is 16 bytes: the state word and a panic id. Sleeping waiters wait
//! in a static table keyed by the group's address, as in Go's runtime, so `add`, `done`,
//! `wait` and the timed waits never allocate, even when they sleep. A `wait_async` that pends
//! stores its waker in the same table, whose storage is reused: it allocates only while the
//! table grows to the peak number of pending tasks.

#![forbid(unsafe_code)]

mod drain_async;
mod error;
mod first_panic;
mod go;
mod guard;
mod outcome;
mod panic_slot;
mod parking;
mod state;
mod sync;
pub mod task_group;
#[cfg(test)]
mod test_futures;
#[cfg(test)]
mod test_support;
mod track;
mod wait_async;
mod wait_group;
mod wait_outcome;

pub use drain_async::Drained;
pub use error::Error;
pub use guard::{Guard, OwnedGuard};
pub use outcome::{Panicked, TaskKind};
pub use wait_async::Wait;
pub use wait_group::WaitGroup;
pub use wait_outcome::WaitOutcome;

/// A `WaitGroup` cannot be cloned or copied (Go's `noCopy`): share it by reference or `Arc`.
///
/// ```compile_fail
/// let wg = groupwait::WaitGroup::new();
/// let copy = wg.clone();
/// ```
///
/// ```compile_fail
/// fn needs_copy<T: Copy>() {}
/// needs_copy::<groupwait::WaitGroup>();
/// ```
#[cfg(doctest)]
pub struct NotCloneNorCopy;

/// The README's example is compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
