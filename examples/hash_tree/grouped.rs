//! `--limit N` and `--fail-fast`: the same hashing as a task group, one task per file.
//!
//! A `TaskGroup<Hashed, String>` runs each file's hashing as a task returning
//! `Result<Hashed, String>`, at most `limit` at once (adding a task at the limit blocks the
//! main thread until one finishes). The tasks run on the task group's pool of reused worker
//! threads, so a task per file costs about what a job of the default mode's pool costs
//! (`scripts/hash-tree-modes.sh` times the modes side by side). With `--fail-fast` the first file that cannot be read
//! cancels the group: tasks not started by then never start and are reported as cancelled,
//! and running ones stop at their next check of the token. Without it (`keep_going`) every
//! file is tried. Either way `wait_all` gives every file's outcome, in submission order.

use crate::{hash_reader, Hashed};
use groupwait::task_group::{Cause, TaskError, TaskGroup};
use indicatif::ProgressBar;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Hashes `files` as a task group; returns one outcome per file, in order, and, if the group
/// was cancelled, why (naming the file whose failure cancelled it).
pub(crate) fn hash_files(
    files: &[PathBuf],
    limit: usize,
    fail_fast: bool,
    bar: &ProgressBar,
    bytes_done: &Arc<AtomicU64>,
) -> (Vec<Result<Hashed, String>>, Option<String>) {
    let builder = TaskGroup::<Hashed, String>::builder().limit(limit);
    let group = if fail_fast {
        builder.build()
    } else {
        builder.keep_going().build()
    };
    for path in files {
        let (path, bar, bytes_done) = (path.clone(), bar.clone(), Arc::clone(bytes_done));
        let token = group.token();
        group.spawn(move || {
            let file = File::open(&path).map_err(|error| format!("cannot open: {error}"))?;
            // A long file stops early once another one failed (with --fail-fast).
            let hashed = hash_reader(file, || token.is_cancelled())?;
            bytes_done.fetch_add(hashed.bytes, Ordering::Relaxed);
            bar.inc(1);
            Ok(hashed)
        });
    }
    let outcomes: Vec<_> = group
        .wait_all()
        .into_iter()
        .map(|outcome| {
            outcome.map_err(|error| match error {
                TaskError::Failed(reason) => reason,
                TaskError::Cancelled => "not hashed: cancelled by an earlier failure".to_string(),
                TaskError::Panicked(_) => format!(
                    "the hashing task panicked: {}",
                    error.panic_message().unwrap_or("(no message)")
                ),
                other => other.to_string(),
            })
        })
        .collect();
    let why = group.token().cause().map(|cause| match cause {
        Cause::Failed { task } | Cause::Panicked { task, .. } => format!(
            "{} failed ({}), so the files not hashed by then were skipped",
            files[task].display(),
            outcomes[task].as_ref().err().map_or("?", String::as_str)
        ),
        other => format!("{other:?}"),
    });
    (outcomes, why)
}
