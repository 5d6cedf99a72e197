//! The outcome slots of a task group: one per admitted task, by submission index, written
//! once when the task ends and taken by the wait.
//!
//! A task's admission and its end touch only their own slot (and the block holding it, made
//! once), never a lock or a vector shared by every task: a group of tasks spawned on one
//! worker and run on another does not pass a lock's cache line between them twice per task.
//! The slots sit in blocks that double in size (32, 64, 128, ... slots), made by the first
//! task end that needs one, so a slot never moves and no admission copies the others. Made at
//! the end rather than the admission: the admission (a spawning loop's step) does nothing
//! here, and the block is made in the cache of a thread that runs tasks.

use crate::sync::{lock, Mutex};

/// Slots in the first block; each next block holds twice as many as the one before.
const FIRST: usize = 32;
/// Blocks: `32 * (2^28 - 1)` slots, more than the `2^32 - 1` indices a group hands out.
const BLOCKS: usize = 28;

type Block<O> = Box<[Mutex<Option<O>>]>;

/// The slots, each `None` until its task's outcome is written.
pub(crate) struct Slots<O> {
    blocks: [once::OnceBlock<Block<O>>; BLOCKS],
}

/// The block holding slot `index`, and the slot's place in it.
fn locate(index: usize) -> (usize, usize) {
    // Block `b` starts at `FIRST * (2^b - 1)`: `index / FIRST + 1` is in `[2^b, 2^(b+1))`.
    let n = index / FIRST + 1;
    let block = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (block, index - FIRST * ((1 << block) - 1))
}

/// How many slots block `block` holds (on a 32-bit target the last block could not be
/// allocated anyway: its length does not fit).
fn block_len(block: usize) -> usize {
    usize::try_from((FIRST as u64) << block).expect("an outcome block's length fits in usize")
}

impl<O> Slots<O> {
    pub(crate) fn new() -> Self {
        Slots {
            blocks: std::array::from_fn(|_| once::OnceBlock::new()),
        }
    }

    /// Runs `f` on slot `index`, under its own lock (held by nobody else but a snapshot or
    /// the wait, each for a moment); `None` if its block is not made yet. `f` must not run
    /// user code: it only moves values.
    fn with<R>(&self, index: usize, f: impl FnOnce(&mut Option<O>) -> R) -> Option<R> {
        let (block, at) = locate(index);
        let block = self.blocks[block].get()?;
        let result = f(&mut lock(&block[at]));
        Some(result)
    }

    /// Writes task `index`'s outcome (once, when it ends), making its block if it is the
    /// block's first.
    ///
    /// # Panics
    ///
    /// If `index` is beyond the last block (the admission refuses such an index first).
    pub(crate) fn set(&self, index: usize, outcome: O) {
        let (block, at) = locate(index);
        // Another end that needs the block while it is made waits for it: a moment, no user
        // code runs there.
        let block = self.blocks[block].get_or_init(|| {
            (0..block_len(block))
                .map(|_| Mutex::new(None))
                .collect::<Vec<_>>()
                .into_boxed_slice()
        });
        let mut slot = lock(&block[at]);
        debug_assert!(slot.is_none(), "an outcome is written once");
        *slot = Some(outcome);
    }

    /// Whether task `index`'s outcome is written (`false` while no task of its block has
    /// ended).
    pub(crate) fn is_set(&self, index: usize) -> bool {
        self.with(index, |slot| slot.is_some()).unwrap_or(false)
    }

    /// Takes task `index`'s outcome.
    pub(crate) fn take(&self, index: usize) -> Option<O> {
        self.with(index, Option::take).flatten()
    }
}

/// A block made once and shared: std's `OnceLock`, or under loom (which models no
/// `OnceLock`) a lock around an `Arc`.
mod once {
    #[cfg(not(groupwait_loom))]
    pub(super) struct OnceBlock<B>(std::sync::OnceLock<B>);

    #[cfg(not(groupwait_loom))]
    impl<B> OnceBlock<B> {
        pub(super) fn new() -> Self {
            OnceBlock(std::sync::OnceLock::new())
        }

        pub(super) fn get_or_init(&self, make: impl FnOnce() -> B) -> &B {
            self.0.get_or_init(make)
        }

        pub(super) fn get(&self) -> Option<&B> {
            self.0.get()
        }
    }

    #[cfg(groupwait_loom)]
    pub(super) struct OnceBlock<B>(crate::sync::Mutex<Option<std::sync::Arc<B>>>);

    #[cfg(groupwait_loom)]
    impl<B> OnceBlock<B> {
        pub(super) fn new() -> Self {
            OnceBlock(crate::sync::Mutex::new(None))
        }

        pub(super) fn get_or_init(&self, make: impl FnOnce() -> B) -> std::sync::Arc<B> {
            let mut block = crate::sync::lock(&self.0);
            std::sync::Arc::clone(block.get_or_insert_with(|| std::sync::Arc::new(make())))
        }

        pub(super) fn get(&self) -> Option<std::sync::Arc<B>> {
            crate::sync::lock(&self.0).clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{block_len, locate, Slots, BLOCKS, FIRST};

    #[test]
    fn each_index_has_its_own_place() {
        let mut expected = (0, 0);
        for index in 0..FIRST * 40 {
            assert_eq!(locate(index), expected, "index {index}");
            expected.1 += 1;
            if expected.1 == block_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
        // The last index a group hands out fits in the last block.
        let (block, at) = locate(u32::MAX as usize - 1);
        assert!(block < BLOCKS && (at as u64) < (FIRST as u64) << block);
    }

    #[test]
    fn slots_keep_their_outcomes_across_blocks() {
        let slots = Slots::new();
        assert!((0..1_000).all(|i| !slots.is_set(i)));
        for index in (0..1_000).rev() {
            slots.set(index, index * 3);
        }
        assert!((0..1_000).all(|i| slots.is_set(i)));
        assert_eq!(slots.take(999), Some(2_997));
        assert_eq!(slots.take(999), None);
        assert_eq!(slots.take(31), Some(93));
        assert_eq!(slots.take(32), Some(96));
    }
}
