//! Unit tests of the demo's parts, run by `tests/hash_tree_parts.rs` (which compiles the demo
//! as a module); `tests/hash_tree_report.rs` runs the whole binary.

use super::{grouped, parse_limit, NotHashed};
use crate::temp_dir::TempDir;
use indicatif::{HumanBytes, ProgressBar};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// With `--limit`, the main thread is busy adding tasks and then waits: the tasks themselves
/// must move the bar, its byte count as well as its file count (the byte count stayed at
/// "0 B" until the end).
#[test]
fn grouped_tasks_move_the_bars_byte_count() {
    let dir = TempDir::new("bytes");
    let sizes = [1000_usize, 70_000, 5];
    let files: Vec<PathBuf> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let path = dir.0.join(format!("f{i}"));
            std::fs::write(&path, vec![7_u8; size]).expect("write a file");
            path
        })
        .collect();
    let bar = ProgressBar::hidden().with_message(HumanBytes(0).to_string());
    let bytes_done = Arc::new(AtomicU64::new(0));
    let (outcomes, cause) = grouped::hash_files(&files, 2, false, &bar, &bytes_done);
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(cause, None);
    // Before the main thread's final update: what the tasks showed.
    let total: usize = sizes.iter().sum();
    assert_eq!(bar.position(), sizes.len() as u64);
    assert_eq!(bar.message(), HumanBytes(total as u64).to_string());
}

/// With `--fail-fast` and one task at a time, the first file fails and the others are
/// cancelled: the failure is the cause, the others are `Cancelled`, not failures.
#[test]
fn fail_fast_names_the_cause_and_marks_the_rest_cancelled() {
    let dir = TempDir::new("cause");
    let missing = dir.0.join("a-missing");
    let mut files = vec![missing];
    for i in 0..5 {
        let path = dir.0.join(format!("f{i}"));
        std::fs::write(&path, b"data").expect("write a file");
        files.push(path);
    }
    let bar = ProgressBar::hidden();
    let bytes_done = Arc::new(AtomicU64::new(0));
    let (outcomes, cause) = grouped::hash_files(&files, 1, true, &bar, &bytes_done);
    assert_eq!(cause, Some(0));
    assert!(
        matches!(&outcomes[0], Err(NotHashed::Failed(why)) if why.starts_with("cannot open")),
        "the missing file's outcome"
    );
    let cancelled = outcomes[1..]
        .iter()
        .filter(|outcome| matches!(outcome, Err(NotHashed::Cancelled)))
        .count();
    let hashed = outcomes[1..]
        .iter()
        .filter(|outcome| outcome.is_ok())
        .count();
    // The task after the failing one may have been admitted before the group was cancelled.
    assert_eq!(cancelled + hashed, 5);
    assert!(cancelled >= 4, "{cancelled} cancelled, {hashed} hashed");
}

#[test]
fn limit_errors_repeat_the_value_given() {
    let parse = |value: &str| parse_limit(Some(OsString::from(value)));
    assert_eq!(parse("3"), Ok(3));
    let first_line = |result: Result<usize, String>| {
        let error = result.expect_err("refused");
        error.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        first_line(parse("abc")),
        "--limit needs a number above 0, not `abc`"
    );
    assert_eq!(
        first_line(parse("0")),
        "--limit needs a number above 0, not `0`"
    );
    assert_eq!(
        first_line(parse("99999999999999999999")),
        format!(
            "--limit 99999999999999999999 is too large: at most {}",
            usize::MAX
        )
    );
    assert_eq!(
        first_line(parse_limit(None)),
        "--limit needs a number above 0"
    );
}
