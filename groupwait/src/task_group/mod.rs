//! Task groups: Go's `errgroup` for Rust, with results, the first error, a limit,
//! cancellation and panics as values, for threads and for futures on any executor.
//!
//! A [`TaskGroup<T, E>`](TaskGroup) runs tasks returning `Result<T, E>` and waits for them.
//! It is built on a [`WaitGroup`](crate::WaitGroup) (which provides the blocking, timed and
//! async waits), one atomic word counting the running tasks, and a slot per task for its
//! outcome.
//!
//! ```
//! use groupwait::task_group::{TaskError, TaskGroup};
//!
//! let group = TaskGroup::<u64, String>::with_limit(4);
//! for n in [3_u64, 5, 7] {
//!     let token = group.token();
//!     group.spawn(move || {
//!         if token.is_cancelled() {
//!             return Err("cancelled".into()); // a long task checks between steps
//!         }
//!         Ok(n * n)
//!     });
//! }
//! assert_eq!(group.wait(), Ok(vec![9, 25, 49])); // submission order
//!
//! let group = TaskGroup::<u64, String>::new();
//! group.spawn(|| Err("unreadable".into()));
//! assert_eq!(group.wait(), Err(TaskError::Failed("unreadable".into())));
//! assert!(group.is_cancelled()); // the first error cancelled the group
//! ```
//!
//! # What it does
//!
//! * **Threads and futures, from `&self`.** [`spawn`](TaskGroup::spawn) (`'static`) runs a
//!   task on a reused worker thread (see **Threads** below) and
//!   [`spawn_scoped`](TaskGroup::spawn_scoped) (borrows locals) on a new scoped thread;
//!   [`track`](TaskGroup::track) hands back a future to pass to `tokio::spawn`,
//!   `smol::spawn` or to await in place (no runtime dependency). Any number of threads and
//!   tasks add tasks at once, including tasks of the group while it is being waited on. A
//!   task that adds to its own group never waits for a slot (see **Limit**).
//! * **Results in submission order.** [`wait`](TaskGroup::wait) returns `Vec<T>` indexed
//!   like the submissions. Cost: one slot (a `Mutex<Option<Result<T, TaskError<E>>>>`) per
//!   task, kept until the group is dropped (the wait empties them); no lock shared between
//!   tasks: an unnamed task's admission and end are one atomic update each (named tasks also
//!   take a lock, for [`pending`](TaskGroup::pending)).
//! * **First error.** The first task to fail or panic cancels the group and is what `wait`
//!   returns; the other outcomes are dropped. [`wait_all`](TaskGroup::wait_all) returns every
//!   outcome instead, and [`Builder::keep_going`] stops errors from cancelling. No error is
//!   lost silently: each is either returned or dropped by a `wait` you chose.
//! * **Cancellation.** A [`CancelToken`] that tasks check ([`is_cancelled`](CancelToken::is_cancelled))
//!   or await ([`cancelled`](CancelToken::cancelled)). It fires on the first error or panic, on
//!   [`cancel`](TaskGroup::cancel), on the group's deadline ([`Builder::deadline`]) and when the
//!   group is dropped with tasks running; [`cause`](CancelToken::cause) says which, and which
//!   task. Tasks not yet started when it fires never start: their outcome is
//!   [`TaskError::Cancelled`].
//! * **Limit.** [`with_limit(n)`](TaskGroup::with_limit): adding a task at the limit blocks
//!   ([`spawn`](TaskGroup::spawn), [`track`](TaskGroup::track)), waits asynchronously
//!   ([`track_async`](TaskGroup::track_async)) or hands the task back
//!   ([`try_spawn`](TaskGroup::try_spawn), [`try_track`](TaskGroup::try_track)). Waiting
//!   callers are served first come, first served; a freed slot wakes one of them. A
//!   cancellation wakes every caller waiting for a slot, so a task that waits for the
//!   cancellation while its sibling's adder waits for a slot cannot deadlock (conc #88).
//!   A task of the group that adds a task to the same group (a directory walker adding a
//!   task per subdirectory) never waits for a slot, which only its own end might free: the
//!   new task is admitted at once and queued, and starts when a slot frees. (A task that
//!   then waits for its child's end while holding its slot still deadlocks at the limit:
//!   let the parent return instead.)
//! * **Panics as values.** A panicking task is reported by the panic hook on the thread it ran on,
//!   with its own backtrace, and its payload becomes [`TaskError::Panicked`], which cancels
//!   the rest. Nothing is re-raised unless you call
//!   [`resume_if_panicked`](TaskError::resume_if_panicked) (or `resume_unwind`).
//! * **Waiting.** [`wait`](TaskGroup::wait), [`wait_timeout`](TaskGroup::wait_timeout) and
//!   [`wait_deadline`](TaskGroup::wait_deadline) (never early; nothing taken on time-out),
//!   [`wait_async`](TaskGroup::wait_async); `wait_idle*` for any number of extra waiters.
//!   Waiting closes the group: once every task has finished it takes no new task.
//! * **Who is late.** [`named`](TaskGroup::named) gives a task a name where it is added
//!   (`group.named("fetch users").spawn(..)`); [`pending`](TaskGroup::pending) lists the
//!   unfinished tasks (index, name, [waiting for a slot or running](TaskState), for how
//!   long), and the group's `Debug` shows the first 16: what to log when a timed wait gives
//!   up. With the `tracing` feature, each task runs in a span carrying its index and name,
//!   with an event for its outcome (`ok`, `failed`, `panicked`, `cancelled`, `abandoned`).
//! * **Dropping** a group whose tasks still run cancels the token and does not wait (see
//!   [`TaskGroup`]); scoped tasks are joined by their scope; pool workers outlive no group by
//!   more than their idle time (see **Threads**).
//!
//! # Threads
//!
//! `'static` thread tasks ([`spawn`](TaskGroup::spawn), [`try_spawn`](TaskGroup::try_spawn))
//! run on the process's task pool, shared by every group:
//!
//! * A worker that finishes a task takes the next queued one; with none queued it parks, and
//!   **exits after five seconds without a task**. The pool starts no thread before the first
//!   `spawn` and keeps none once it has been idle that long. A group holds no thread: dropping
//!   it (waited or not) leaves nothing behind but the workers still running its tasks, which
//!   park when done and exit on the same terms.
//! * **Every task gets a thread promptly, even if others block.** While fewer workers than
//!   cores are running tasks, a new task wakes (or starts) one at once; beyond that it waits
//!   for a worker to come free, and a watcher thread (started when first needed, gone after
//!   five idle seconds) adds workers whenever the queue has not moved for a millisecond (a
//!   stall): as many as are alive (at least one), at most one per waiting task. The pool at
//!   most doubles per stalled millisecond and goes on doubling while tasks wait and none is
//!   taken. So tasks that block (on I/O, a lock, a channel, a barrier with each other) all
//!   run, as with a thread each: 64 tasks at a barrier on 2 cores all have a thread after 5
//!   stalls (about 11 ms here), 1,000 after 9 (about 40 ms). A brief hiccup (busy workers
//!   descheduled for a millisecond with 10,000 tiny tasks queued) adds about as many threads
//!   as were running, not 10,000. Tiny tasks cost about what a pool task costs (a few hundred
//!   nanoseconds here, against tens of microseconds for a thread: `benches/task_group.rs`).
//! * **Under a limit** at most `n` tasks run at once, as before: `spawn` takes a slot before it
//!   hands the task to the pool, and the slot is given back when the task's outcome is
//!   recorded.
//! * A panic in a task is caught on the worker (after the panic hook reported it there), is
//!   the task's outcome, and the worker goes on with the next task.
//! * **Thread-local state outlives the task**: a worker's thread-locals set by one task are
//!   seen by the next task it runs (of any group), and are dropped only when the worker exits.
//!   Worker threads are named `groupwait-task`. [`pool_threads`] counts them.
//!
//! Which work belongs here: tasks that block or whose length is unknown, such as file and
//! network I/O, subprocesses, calls into blocking libraries, and mixes of I/O and computing,
//! with results, errors, a limit and cancellation per group. Many small pieces of pure
//! computation belong on `rayon` (work stealing, no lock per task, the caller's thread
//! helps): a task here costs a few lock round trips and, when workers park between tasks, a
//! wake-up. Futures belong on their executor, through [`track`](TaskGroup::track).
//!
//! [`spawn_scoped`](TaskGroup::spawn_scoped) still starts a thread per task: its tasks borrow
//! the scope, and a queue of such tasks could not be kept between calls without `unsafe`
//! lifetime erasure (see its docs).
//!
//! # From errgroup / conc / JoinSet / TaskTracker
//!
//! | there | here |
//! |---|---|
//! | errgroup `var g errgroup.Group` | `let g = TaskGroup::<T, E>::new();` |
//! | errgroup `g.Go(f)` | [`g.spawn(f)`](TaskGroup::spawn), [`g.spawn_scoped(s, f)`](TaskGroup::spawn_scoped), [`tokio::spawn(g.track(fut))`](TaskGroup::track) |
//! | errgroup `g.TryGo(f)` | [`g.try_spawn(f)`](TaskGroup::try_spawn) (the task is handed back), [`try_track`](TaskGroup::try_track) |
//! | errgroup `g.SetLimit(n)` | [`TaskGroup::with_limit(n)`](TaskGroup::with_limit), fixed at construction (no race with running tasks) |
//! | errgroup `g.Wait()` (first error) | [`g.wait()`](TaskGroup::wait): the values in submission order, or the first error |
//! | errgroup `WithContext`, `context.Cause` | [`g.token()`](TaskGroup::token), [`is_cancelled`](CancelToken::is_cancelled), [`cancelled().await`](CancelToken::cancelled), [`cause`](CancelToken::cause) |
//! | errgroup: a panic kills the process | [`TaskError::Panicked`]: reported by the hook, carried as a value |
//! | conc `pool.New().WithErrors()` (all errors) | [`g.wait_all()`](TaskGroup::wait_all), [`Builder::keep_going`] |
//! | conc `WithMaxGoroutines(n)`, `WithCancelOnError`, `WithFirstError` | [`Builder::limit`]; the default (first error cancels, and is returned) |
//! | conc `ResultPool` (submission order) | `TaskGroup<T, E>` with [`wait`](TaskGroup::wait) |
//! | conc `Wait` re-panics | nothing re-raised implicitly; [`resume_if_panicked`](TaskError::resume_if_panicked) on request |
//! | `JoinSet::spawn` (`&mut self`) | [`track`](TaskGroup::track) from `&self`, any executor |
//! | `JoinSet::join_all` (panics on a task error) | [`wait_async`](TaskGroup::wait_async) (`Result`, submission order) |
//! | `JoinSet::abort_all`, drop aborts | [`cancel`](TaskGroup::cancel) (cooperative); drop cancels and detaches |
//! | `TaskTracker::close` + `wait` | [`wait_async`](TaskGroup::wait_async) (closes the group itself) |
//! | `TaskTracker` + `CancellationToken` | built in: [`token`](TaskGroup::token) |
//! | `buffer_unordered(n)` | [`track_async`](TaskGroup::track_async) under a limit; each task runs on its executor, not in the consumer |
//!
//! Not here: preemptive abort (Rust threads cannot be killed; futures can be dropped by their
//! executor, reported as [`TaskError::Abandoned`]); results in completion order (use a
//! channel from the tasks).
//!
//! # Memory ordering
//!
//! Everything a task did happens-before the return of the wait that reports its outcome, and
//! whatever a canceller wrote before cancelling is visible to a task that sees the token fired.

mod admissions;
mod cancel;
mod error;
mod future;
mod group;
mod limit;
mod named;
mod pending;
mod pool;
mod slots;
mod thread;
#[cfg(feature = "tracing")]
mod tracing;

pub use cancel::{CancelToken, Cancelled, Cause};
pub use error::{Payload, TaskError, TrySpawnError};
pub use group::{Builder, TaskGroup};
pub use named::Named;
pub use pending::{PendingTask, TaskState};
pub use pool::{pool_threads, PoolThreads};

/// Compile-time checks: the group, its token and the futures cross threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    send_sync::<TaskGroup<String, std::io::Error>>();
    send_sync::<Builder<String, std::io::Error>>();
    send_sync::<CancelToken>();
    send_sync::<Cancelled<'static>>();
    send::<TaskError<std::io::Error>>();
    send_sync::<TrySpawnError<fn()>>();
};

#[cfg(test)]
mod tests {
    use super::TaskGroup;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn the_futures_are_send() {
        let group = TaskGroup::<u8, ()>::new();
        let task = group.track(async { Ok(1) });
        assert_send(&task);
        assert_send(&group.wait_async());
        assert_send(&group.wait_all_async());
        assert_send(&group.wait_idle_async());
        assert_send(&group.track_async(async { Ok(2) }));
        let token = group.token();
        assert_send(&token.cancelled());
        futures::executor::block_on(task);
        group.wait_idle();
    }
}
