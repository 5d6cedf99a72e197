//! The 64-bit state word: its layout, and pure helpers to read and build it.
//!
//! ```text
//!  63                               32 31  30       24  23  22                  0
//! +-----------------------------------+---+-----------+---+---------------------+
//! |  counter (0 ..= i32::MAX)          |PAN| GEN (7 b) |DRN| waiters (23 bits)   |
//! +-----------------------------------+---+-----------+---+---------------------+
//! ```
//!
//! * `counter`: Go's counter, in the high half as in Go. An `add` is one `fetch_add`, checked
//!   after: outside the instant before a refused `add` is undone, it is in `0..=i32::MAX`
//!   (DESIGN.md, "Write, then check"). A negative counter is always such an instant.
//! * `waiters`: waiters that registered while the counter was non-zero and have not been
//!   released, timed out or cancelled yet. At most 2^23 - 1 at once.
//! * `DRN` (draining): set by a `wait_drained` waiter, only while the counter is non-zero,
//!   and cleared right after the write that brings the counter to zero, by a compare-exchange
//!   that requires the counter still zero; so `DRN` with a zero counter is only that instant. Drain waiters are not counted in `waiters`: they never
//!   trigger Go's reuse checks, which is what lets producers keep adding while they wait.
//! * `GEN`: the generation, advanced (mod 128) by the release that wakes the waiters. A
//!   registered waiter waits until it sees a different `GEN` than the one it registered under,
//!   so the release is a single write to this word and the waker never has to touch the group
//!   again afterwards (the waiter may free the group the moment it sees the change). Seven bits
//!   make a waiter of an old round mistake a later round for its own only after 128 releases
//!   happened while it had not returned, which Go's rules already forbid.
//! * `PAN`: the group has a panic report (in `panic_slot`): a task panicked in the current
//!   round (or in an earlier one whose payload nobody took yet). Cleared, with the report, by
//!   the `add` that starts the next round once the payload has been handed to a waiter.
//!
//! Invariant outside the instant of a release: `waiters > 0` implies `counter > 0`. The
//! all-zero word (any `GEN`) is the idle group, so `wait` on an idle group is one load and one
//! compare.

/// Mask of the waiter count.
pub(crate) const WAITERS: u64 = (1 << 23) - 1;
/// Set while `wait_drained` waiters wait for the counter to reach zero (set only while it is
/// non-zero); cleared right after the write that brings it to zero.
pub(crate) const DRAINING: u64 = 1 << 23;
/// The lowest bit of the generation.
const GEN_ONE: u64 = 1 << 24;
/// Mask of the generation.
pub(crate) const GEN: u64 = 0x7F << 24;
/// Set while a task's panic payload waits to be re-raised by `wait`.
pub(crate) const PANICKED: u64 = 1 << 31;
/// Mask of the counter.
pub(crate) const COUNTER: u64 = !0 << 32;
/// The largest counter value.
pub(crate) const MAX_COUNT: i64 = i32::MAX as i64;

/// The counter.
#[inline]
pub(crate) const fn counter(state: u64) -> i64 {
    (state >> 32) as u32 as i32 as i64
}

/// The number of registered waiters.
#[inline]
pub(crate) const fn waiters(state: u64) -> u64 {
    state & WAITERS
}

/// The generation, in place (masked, not shifted).
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
/// generation advanced, a pending panic kept (and `DRAINING` cleared).
#[inline]
pub(crate) const fn released(state: u64) -> u64 {
    (state & PANICKED) | (state.wrapping_add(GEN_ONE) & GEN)
}

/// `state` (a zero counter, no registered waiters, `DRAINING` set) after releasing its drain
/// waiters: `DRAINING` cleared, the generation advanced, the rest kept.
#[inline]
pub(crate) const fn drained(state: u64) -> u64 {
    (state & !(GEN | DRAINING)) | (state.wrapping_add(GEN_ONE) & GEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_sits_in_the_high_half() {
        assert_eq!(counter(0), 0);
        assert_eq!(counter(counter_addend(7) + 3), 7);
        assert_eq!(counter(counter_addend(MAX_COUNT)), MAX_COUNT);
        assert_eq!(
            counter(counter_addend(5).wrapping_add(counter_addend(-2))),
            3
        );
    }

    #[test]
    fn adding_to_the_counter_leaves_the_low_half_alone() {
        let s = 5 | GEN | PANICKED;
        let s2 = s.wrapping_add(counter_addend(9));
        assert_eq!(counter(s2), 9);
        assert_eq!(s2 & !COUNTER, s);
        let s3 = s2.wrapping_add(counter_addend(-9));
        assert_eq!(s3, s);
    }

    #[test]
    fn fields_do_not_overlap_and_cover_the_word() {
        assert_eq!(COUNTER & (WAITERS | PANICKED | GEN | DRAINING), 0);
        assert_eq!(WAITERS & (PANICKED | GEN | DRAINING), 0);
        assert_eq!(PANICKED & (GEN | DRAINING), 0);
        assert_eq!(GEN & DRAINING, 0);
        assert_eq!(COUNTER | WAITERS | PANICKED | GEN | DRAINING, u64::MAX);
    }

    #[test]
    fn release_clears_counts_advances_generation_keeps_panic() {
        let s = 9 | PANICKED;
        let r = released(s);
        assert_eq!(waiters(r), 0);
        assert_eq!(counter(r), 0);
        assert_eq!(generation(r), GEN_ONE);
        assert_eq!(r & PANICKED, PANICKED);
        assert_eq!(released(3), GEN_ONE);
    }

    #[test]
    fn generation_wraps_after_128_releases_without_touching_other_fields() {
        let mut s = 0;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..128 {
            assert!(seen.insert(generation(s)));
            s = released(s | 1);
        }
        assert_eq!(s, 0);
        assert_eq!(released(GEN | PANICKED | 4), PANICKED);
    }

    #[test]
    fn drained_clears_the_drain_bit_advances_generation_keeps_the_rest() {
        let s = DRAINING | PANICKED | GEN;
        let d = drained(s);
        assert_eq!(d & DRAINING, 0);
        assert_eq!(d & PANICKED, PANICKED);
        assert_eq!(generation(d), 0);
        assert_eq!(drained(DRAINING), GEN_ONE);
        assert_eq!(released(DRAINING | 3), GEN_ONE);
    }
}
