//! `Slab`: a vector whose first elements are stored inline, so that a bucket's first async
//! waiters allocate nothing.

use std::ops::{Index, IndexMut};

/// A vector of `T` whose first `N` elements live inline (in the static table) and the rest on
/// the heap. Only the operations the waiter table uses.
pub(super) struct Slab<T, const N: usize> {
    /// Elements `0..inline_len`; the rest of the array holds placeholders.
    inline: [T; N],
    inline_len: usize,
    /// Elements `N..`; empty while `inline_len < N`.
    heap: Vec<T>,
}

impl<T, const N: usize> Slab<T, N> {
    /// An empty slab; `placeholders` fill the inline part until pushed over (they are dropped
    /// then, so they should own nothing).
    pub(super) const fn new(placeholders: [T; N]) -> Self {
        Slab {
            inline: placeholders,
            inline_len: 0,
            heap: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.inline_len + self.heap.len()
    }

    /// Elements it holds without allocating more.
    pub(super) fn capacity(&self) -> usize {
        N + self.heap.capacity()
    }

    /// Appends `value`: inline while there is room, else on the heap.
    pub(super) fn push(&mut self, value: T) {
        if self.inline_len < N {
            self.inline[self.inline_len] = value;
            self.inline_len += 1;
        } else {
            self.heap.push(value);
        }
    }

    /// The last element: for the tests (and the table's tests of its invariants).
    #[cfg(test)]
    pub(super) fn last(&self) -> Option<&T> {
        self.len().checked_sub(1).map(|i| &self[i])
    }

    /// Removes the last element. An inline one stays in place, as a placeholder, until pushed
    /// over: the caller pops only elements that own nothing.
    pub(super) fn pop(&mut self) {
        if self.heap.pop().is_none() {
            self.inline_len = self.inline_len.saturating_sub(1);
        }
    }

    /// Keeps the first `len` elements (if there are more); the inline ones removed stay as
    /// placeholders, as in [`pop`](Self::pop).
    pub(super) fn truncate(&mut self, len: usize) {
        self.heap.truncate(len.saturating_sub(N));
        self.inline_len = self.inline_len.min(len);
    }

    /// Shrinks the heap part so that the whole holds at least `min_capacity` elements (and the
    /// heap part no more than it needs for that).
    pub(super) fn shrink_to(&mut self, min_capacity: usize) {
        self.heap.shrink_to(min_capacity.saturating_sub(N));
    }

    /// Heap bytes held: for the tests of the table's storage.
    #[cfg(test)]
    pub(super) fn heap_capacity(&self) -> usize {
        self.heap.capacity()
    }
}

impl<T, const N: usize> Index<usize> for Slab<T, N> {
    type Output = T;

    /// Element `i`; panics if `i >= len()`, as a `Vec` does.
    fn index(&self, i: usize) -> &T {
        if i < N {
            &self.inline[..self.inline_len][i]
        } else {
            &self.heap[i - N]
        }
    }
}

impl<T, const N: usize> IndexMut<usize> for Slab<T, N> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        if i < N {
            &mut self.inline[..self.inline_len][i]
        } else {
            &mut self.heap[i - N]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn the_first_elements_are_inline_and_the_rest_on_the_heap_in_one_index_space() {
        let mut slab = Slab::<u32, 2>::new([0, 0]);
        assert_eq!((slab.len(), slab.last()), (0, None));
        for v in 10..15 {
            slab.push(v);
        }
        assert_eq!(slab.len(), 5);
        assert_eq!(
            (0..5).map(|i| slab[i]).collect::<Vec<_>>(),
            [10, 11, 12, 13, 14]
        );
        assert!(slab.heap_capacity() >= 3);
        slab[1] = 21;
        slab[3] = 23;
        assert_eq!((slab[1], slab[3]), (21, 23));
        for expected_last in [14, 23, 12, 21, 10] {
            assert_eq!(slab.last(), Some(&expected_last));
            slab.pop();
        }
        assert_eq!((slab.len(), slab.last()), (0, None));
        slab.pop(); // popping an empty slab leaves it empty
        assert_eq!(slab.len(), 0);
        slab.push(7); // over a placeholder left by a pop
        assert_eq!((slab.len(), slab[0]), (1, 7));
    }

    #[test]
    fn truncating_keeps_the_first_elements_across_the_inline_and_heap_parts() {
        let mut slab = Slab::<u32, 2>::new([0, 0]);
        for v in 10..15 {
            slab.push(v);
        }
        slab.truncate(9); // longer than it is: nothing removed
        assert_eq!(slab.len(), 5);
        slab.truncate(3); // within the heap part
        assert_eq!((slab.len(), slab.last()), (3, Some(&12)));
        slab.truncate(1); // into the inline part
        assert_eq!((slab.len(), slab.last()), (1, Some(&10)));
        slab.push(21); // over a placeholder left by the truncation
        slab.push(22);
        assert_eq!((0..3).map(|i| slab[i]).collect::<Vec<_>>(), [10, 21, 22]);
        slab.truncate(0);
        assert_eq!((slab.len(), slab.last()), (0, None));
        // Longer than it is while the inline part is not full: nothing added either.
        slab.push(31);
        slab.truncate(2);
        assert_eq!((slab.len(), slab.last()), (1, Some(&31)));
    }

    #[test]
    fn a_slab_within_its_inline_part_allocates_nothing() {
        let mut slab = Slab::<u32, 4>::new([0; 4]);
        for v in 0..4 {
            slab.push(v);
        }
        assert_eq!(
            (slab.len(), slab.heap_capacity(), slab.capacity()),
            (4, 0, 4)
        );
        slab.push(4);
        assert!(slab.heap_capacity() >= 1);
        slab.pop();
        slab.shrink_to(4);
        assert_eq!(slab.heap_capacity(), 0);
    }

    #[test]
    #[should_panic]
    fn indexing_past_the_inline_length_panics_as_a_vec_does() {
        let mut slab = Slab::<u32, 4>::new([0; 4]);
        slab.push(1);
        let _ = slab[1];
    }
}
