//! The misuse errors `try_add` reports and `add` panics with.

use std::fmt;

/// Why a [`WaitGroup::try_add`](crate::WaitGroup::try_add) was refused.
///
/// Each refused call left the group as it was (its write is undone before it returns; what
/// calls on other threads at that very instant can see is in DESIGN.md, "Write, then check"). The messages contain Go's own panic
/// texts, so a Go user recognises them.
///
/// # Examples
///
/// ```
/// use groupwait::{Error, WaitGroup};
///
/// let wg = WaitGroup::new();
/// match wg.try_add(-1) {
///     Err(Error::NegativeCounter) => {} // more `done`s than `add`s: a bug in the caller
///     other => panic!("unexpected: {other:?}"),
/// }
/// assert!(Error::NegativeCounter.to_string().contains("negative WaitGroup counter"));
/// ```
///
/// # Panics
///
/// Its methods never panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The counter would go below zero: more `done` calls than `add`ed units.
    NegativeCounter,
    /// The counter would exceed `i32::MAX` (Go's counter is 32 bits), or the delta itself does
    /// not fit. Go silently truncates here; groupwait refuses.
    CounterOverflow {
        /// The delta that was refused.
        delta: isize,
    },
    /// A positive `add` on a zero counter raced with waiters that were just being released:
    /// the next round's `add` must happen after every `wait` of the previous round returned.
    AddDuringWait,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NegativeCounter => f.write_str("groupwait: negative WaitGroup counter"),
            Error::CounterOverflow { delta } => write!(
                f,
                "groupwait: WaitGroup counter overflow: adding {delta} would take the counter past {}",
                i32::MAX
            ),
            Error::AddDuringWait => {
                f.write_str("groupwait: WaitGroup misuse: Add called concurrently with Wait")
            }
        }
    }
}

impl std::error::Error for Error {}
