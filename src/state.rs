//! The 64-bit state word: its layout, and pure helpers to read and build it.
//!
//! ```text
//!  63                              32 31  30 29                            0
//! +----------------------------------+---+---+------------------------------+
//! |  counter (i32, two's complement)  |GEN|PAN|  waiters (30 bits, unsigned)  |
//! +----------------------------------+---+---+------------------------------+
//! ```
//!
//! * `counter`: Go's counter, in the high half as in Go, so `add(delta)` is one `fetch_add` of
//!   `delta << 32`. It is never negative at rest; a misuse makes it negative for the instant
//!   between the faulty `fetch_add` and its undo.
//! * `waiters`: waiters that registered while the counter was non-zero and have not been
//!   released (or timed out) yet.
//! * `GEN`: flipped by the release that wakes the waiters. A registered waiter sleeps until it
//!   sees a different `GEN` than the one it registered under, so the release is a single write
//!   to this word and the waker never has to touch the group again afterwards (the waiter may
//!   free the group the moment it sees the flip).
//! * `PAN`: a panic payload from a task of this group waits to be re-raised by a waiter.
//!
//! The all-zero word is the idle group, so `wait` on an idle group is one load and one compare.

/// Mask of the waiter count.
pub(crate) const WAITERS: u64 = (1 << 30) - 1;
/// Set while a task's panic payload waits to be re-raised by `wait`.
pub(crate) const PANICKED: u64 = 1 << 30;
/// The generation bit, flipped each time registered waiters are released.
pub(crate) const GEN: u64 = 1 << 31;
/// Mask of the counter.
pub(crate) const COUNTER: u64 = !0 << 32;
/// The largest counter value.
pub(crate) const MAX_COUNT: i64 = i32::MAX as i64;

/// The counter, read as Go reads it: a signed 32-bit number.
#[inline]
pub(crate) const fn counter(state: u64) -> i64 {
    (state >> 32) as u32 as i32 as i64
}

/// The number of registered waiters.
#[inline]
pub(crate) const fn waiters(state: u64) -> u64 {
    state & WAITERS
}

/// The generation bit, as 0 or [`GEN`].
#[inline]
pub(crate) const fn generation(state: u64) -> u64 {
    state & GEN
}

/// `delta` shifted into the counter half, as a wrapping addend for the whole word.
#[inline]
pub(crate) const fn counter_addend(delta: i64) -> u64 {
    (delta as u64) << 32
}

/// The word after releasing every waiter of `state`: counter and waiters zero, the
/// generation flipped, a pending panic kept.
#[inline]
pub(crate) const fn released(state: u64) -> u64 {
    (state & PANICKED) | ((state ^ GEN) & GEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_sits_in_the_high_half_and_reads_signed() {
        assert_eq!(counter(0), 0);
        assert_eq!(counter(counter_addend(7) + 3), 7);
        assert_eq!(counter(counter_addend(-1)), -1);
        assert_eq!(counter(counter_addend(MAX_COUNT)), MAX_COUNT);
        assert_eq!(
            counter(counter_addend(MAX_COUNT).wrapping_add(counter_addend(1))),
            i32::MIN as i64
        );
    }

    #[test]
    fn adding_to_the_counter_leaves_the_low_half_alone() {
        let s = 5 | GEN | PANICKED;
        let s2 = s.wrapping_add(counter_addend(-3));
        assert_eq!(counter(s2), -3);
        assert_eq!(s2 & !COUNTER, s);
        assert_eq!(counter(s2.wrapping_add(counter_addend(3))), 0);
    }

    #[test]
    fn fields_do_not_overlap() {
        assert_eq!(COUNTER & (WAITERS | PANICKED | GEN), 0);
        assert_eq!(WAITERS & (PANICKED | GEN), 0);
        assert_eq!(PANICKED & GEN, 0);
        assert_eq!(COUNTER | WAITERS | PANICKED | GEN, u64::MAX);
    }

    #[test]
    fn release_clears_counts_flips_generation_keeps_panic() {
        let s = 9 | PANICKED;
        let r = released(s);
        assert_eq!(waiters(r), 0);
        assert_eq!(counter(r), 0);
        assert_eq!(generation(r), GEN);
        assert_eq!(r & PANICKED, PANICKED);
        assert_eq!(generation(released(r | 2)), 0);
        assert_eq!(released(3), GEN);
    }
}
