//! The admission word: whether a wait has closed the group, how many admitted tasks run, and
//! the next submission index, in one atomic, so that admitting a task and ending one are each
//! one read-modify-write.
//!
//! The group's waits wait on a `WaitGroup` that holds one unit, the *gate*, from the group's
//! creation until the word first shows the group closed with no task running. That state is
//! final (an admission refuses it), so exactly one read-modify-write produces it: the close
//! that finds no task running, or the end of the last task after the close. Whoever made it
//! opens the gate (`WaitGroup::done`). So the waits see the counter at zero only once every
//! admitted task has ended, and no task pays a `WaitGroup` update of its own.

use crate::sync::{AtomicU64, Ordering};

/// A wait has begun.
const CLOSED: u64 = 1 << 63;
/// The running tasks, bits 32 to 62.
const RUNNING_SHIFT: u32 = 32;
const RUNNING_ONE: u64 = 1 << RUNNING_SHIFT;
const RUNNING_MAX: u64 = (1 << 31) - 1;
/// The next submission index, bits 0 to 31.
const INDEX_MAX: u64 = u32::MAX as u64;

fn running(word: u64) -> u64 {
    (word >> RUNNING_SHIFT) & RUNNING_MAX
}

fn index(word: u64) -> u64 {
    word & INDEX_MAX
}

/// Closed with no task running: the final state, in which the gate is open.
fn finished(word: u64) -> bool {
    word & CLOSED != 0 && running(word) == 0
}

/// Why an admission was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A wait has begun and every task has ended.
    Closed,
    /// `2^31 - 1` tasks run, or the group has handed out `2^32 - 1` indices.
    Overflow(&'static str),
}

pub(crate) struct Admissions {
    word: AtomicU64,
}

impl Admissions {
    pub(crate) fn new() -> Self {
        Admissions {
            word: AtomicU64::new(0),
        }
    }

    /// Admits a task: one more running, and its submission index.
    ///
    /// # Errors
    ///
    /// [`Refusal`]: the word is left unchanged.
    pub(crate) fn admit(&self) -> Result<usize, Refusal> {
        // Relaxed, here and in the exchange: an admission publishes nothing through the word.
        // The task it admits is handed to its runner by the caller (a spawn, a queue), and
        // that task's end is the Release the gate's opener acquires; the refusal below needs
        // no ordering either, since the final state never changes once written (a stale read
        // of it is no read of it: the exchange then fails and reads the word afresh).
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if finished(word) {
                return Err(Refusal::Closed);
            }
            let overflow = if running(word) == RUNNING_MAX {
                Some("2^31 - 1 tasks are running")
            } else if index(word) == INDEX_MAX {
                Some("the group has admitted 2^32 - 1 tasks")
            } else {
                None
            };
            // An overflow is confirmed on the word's latest value (an exchange that changes
            // nothing), not on a read that may be stale.
            let new = if overflow.is_some() {
                word
            } else {
                word + RUNNING_ONE + 1
            };
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => match overflow {
                    Some(why) => return Err(Refusal::Overflow(why)),
                    None => return Ok(index(word) as usize),
                },
                Err(now) => word = now,
            }
        }
    }

    /// An admitted task has ended (its outcome is written). Returns whether this was the end
    /// of the last task after the close: the caller opens the gate.
    pub(crate) fn end(&self) -> bool {
        // AcqRel: Release publishes this task's outcome slot and everything the task did to
        // the one who opens the gate (this call, or a later end or close, whose Acquire reads
        // a value of this release sequence); Acquire, when this end opens the gate, takes in
        // every earlier end, so the wait released by the gate sees them all.
        let old = self.word.fetch_sub(RUNNING_ONE, Ordering::AcqRel);
        debug_assert!(running(old) > 0, "an end without an admission");
        old & CLOSED != 0 && running(old) == 1
    }

    /// Closes the group (a wait begins). Returns whether this close found no task running and
    /// so made the final state (the caller opens the gate), and how many tasks were running.
    pub(crate) fn close(&self) -> (bool, usize) {
        // Acquire: when this close opens the gate, it takes in every end before it (the ends'
        // Release), and its `done` hands them on to the waits. The close publishes nothing.
        let old = self.word.fetch_or(CLOSED, Ordering::Acquire);
        (
            old & CLOSED == 0 && running(old) == 0,
            running(old) as usize,
        )
    }

    /// Admitted tasks that have not ended (a snapshot).
    pub(crate) fn running(&self) -> usize {
        // Acquire: a caller that then reads outcome slots sees those written before the ends
        // it counted.
        running(self.word.load(Ordering::Acquire)) as usize
    }

    /// Tasks admitted so far: the next submission index. Once the gate is open, every one of
    /// them has ended.
    pub(crate) fn submitted(&self) -> usize {
        // Acquire: as in `running`.
        index(self.word.load(Ordering::Acquire)) as usize
    }

    /// Whether the group is closed with no task running (no task can be admitted).
    pub(crate) fn finished(&self) -> bool {
        // Acquire: as in `running`.
        finished(self.word.load(Ordering::Acquire))
    }

    /// Whether a wait has begun.
    pub(crate) fn closed(&self) -> bool {
        // Relaxed: a report for `Debug`; nothing is read on its strength.
        self.word.load(Ordering::Relaxed) & CLOSED != 0
    }
}

#[cfg(all(test, not(groupwait_loom)))]
mod tests {
    use super::{Admissions, Refusal, INDEX_MAX, RUNNING_MAX, RUNNING_ONE};
    use crate::sync::Ordering;

    #[test]
    fn the_last_end_after_the_close_opens_the_gate() {
        let a = Admissions::new();
        assert_eq!((a.admit(), a.admit()), (Ok(0), Ok(1)));
        assert!(!a.end()); // not closed yet
        assert_eq!(a.close(), (false, 1));
        assert_eq!(a.admit(), Ok(2)); // a running task may still add one
        assert!(!a.end());
        assert!(a.end());
        assert_eq!(a.admit(), Err(Refusal::Closed));
        assert_eq!((a.submitted(), a.running(), a.finished()), (3, 0, true));
        assert_eq!(a.close(), (false, 0)); // a second close opens nothing
    }

    #[test]
    fn a_close_with_nothing_running_opens_the_gate() {
        let a = Admissions::new();
        assert_eq!(a.close(), (true, 0));
        assert_eq!(a.admit(), Err(Refusal::Closed));
    }

    #[test]
    fn overflows_are_refused_and_change_nothing() {
        let a = Admissions::new();
        a.word.store(RUNNING_MAX * RUNNING_ONE, Ordering::Relaxed);
        assert!(matches!(a.admit(), Err(Refusal::Overflow(_))));
        assert_eq!(a.running(), RUNNING_MAX as usize);
        a.word.store(INDEX_MAX, Ordering::Relaxed);
        assert!(matches!(a.admit(), Err(Refusal::Overflow(_))));
        assert_eq!(a.submitted(), INDEX_MAX as usize);
    }
}
