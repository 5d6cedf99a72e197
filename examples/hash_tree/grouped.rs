//! `--limit N` and `--fail-fast`: the same hashing as a task group, one task per file.
//!
//! A `TaskGroup<Hashed, NotHashed>` runs each file's hashing as a task returning
//! `Result<Hashed, NotHashed>`, at most `limit` at once (adding a task at the limit blocks the
//! main thread until one finishes). The tasks run on the task group's pool of reused worker
//! threads, so a task per file costs about what a job of the default mode's pool costs
//! (`scripts/hash-tree-modes.sh` times the modes side by side). With `--fail-fast` the first
//! file that cannot be read
//! cancels the group: tasks not started by then never start and are reported as cancelled,
//! and running ones stop at their next check of the token. Without it (`keep_going`) every
//! file is tried. Either way `wait_all` gives every file's outcome, in submission order, and
//! the token's cause names the file whose failure cancelled the group.
//!
//! The main thread is busy adding tasks and then waiting, so each task updates the progress
//! bar itself: its file count and its byte count.

use super::{hash_reader, open, Hashed, NotHashed, Outcome};
use groupwait::task_group::{Cause, TaskError, TaskGroup};
use indicatif::{HumanBytes, ProgressBar};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Hashes `files` as a task group; returns one outcome per file, in order, and, if a file's
/// failure cancelled the group, that file's index.
pub(crate) fn hash_files(
    files: &[PathBuf],
    limit: usize,
    fail_fast: bool,
    bar: &ProgressBar,
    bytes_done: &Arc<AtomicU64>,
) -> (Vec<Outcome>, Option<usize>) {
    let builder = TaskGroup::<Hashed, NotHashed>::builder().limit(limit);
    let group = if fail_fast {
        builder.build()
    } else {
        builder.keep_going().build()
    };
    for path in files {
        let (path, bar, bytes_done) = (path.clone(), bar.clone(), Arc::clone(bytes_done));
        let token = group.token();
        group.spawn(move || {
            // A long file stops early once another one failed (with --fail-fast).
            let hashed = hash_reader(open(&path)?, || token.is_cancelled())?;
            // Two tasks ending together may show their totals in either order, for a moment.
            let total = bytes_done.fetch_add(hashed.bytes, Ordering::Relaxed) + hashed.bytes;
            bar.set_message(HumanBytes(total).to_string());
            bar.inc(1);
            Ok(hashed)
        });
    }
    let outcomes: Vec<_> = group
        .wait_all()
        .into_iter()
        .map(|outcome| {
            outcome.map_err(|error| match error {
                TaskError::Failed(why) => why,
                TaskError::Cancelled => NotHashed::Cancelled,
                TaskError::Panicked(_) => NotHashed::Failed(format!(
                    "the hashing task panicked: {}",
                    error.panic_message().unwrap_or("(no message)")
                )),
                _ => NotHashed::Failed("the hashing task did not finish".to_string()),
            })
        })
        .collect();
    let cause = match group.token().cause() {
        Some(Cause::Failed { task } | Cause::Panicked { task, .. }) => Some(task),
        _ => None,
    };
    (outcomes, cause)
}
