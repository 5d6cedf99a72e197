//! `Lists`: the map from a group's key to its list of async waiters, its first entries stored
//! inline, so that a bucket's first waiting groups allocate nothing.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// A map from key (a group's address, never 0) to `V`: `N` entries inline (the static table),
/// the rest in a `HashMap`. A key is in one of the two at most.
pub(super) struct Lists<V, S, const N: usize> {
    /// `(key, value)`; key 0 marks a free entry.
    inline: [(usize, V); N],
    map: HashMap<usize, V, S>,
}

impl<V, S: BuildHasher, const N: usize> Lists<V, S, N> {
    /// An empty map; `placeholders` fill the inline entries (their keys must be 0).
    pub(super) const fn new(placeholders: [(usize, V); N], hasher: S) -> Self {
        Lists {
            inline: placeholders,
            map: HashMap::with_hasher(hasher),
        }
    }

    pub(super) fn get(&self, key: usize) -> Option<&V> {
        match self.inline.iter().find(|(k, _)| *k == key) {
            Some((_, value)) => Some(value),
            None if self.map.is_empty() => None,
            None => self.map.get(&key),
        }
    }

    pub(super) fn get_mut(&mut self, key: usize) -> Option<&mut V> {
        match self.inline.iter_mut().find(|(k, _)| *k == key) {
            Some((_, value)) => Some(value),
            None if self.map.is_empty() => None,
            None => self.map.get_mut(&key),
        }
    }

    /// The value of `key`, inserted as `make()` if absent: inline while an entry is free.
    pub(super) fn get_or_insert_with(&mut self, key: usize, make: impl FnOnce() -> V) -> &mut V {
        debug_assert_ne!(key, 0, "key 0 marks a free inline entry");
        let found = self.inline.iter().position(|(k, _)| *k == key);
        if let Some(i) = found {
            return &mut self.inline[i].1;
        }
        if !self.map.contains_key(&key) {
            if let Some(free) = self.inline.iter_mut().find(|(k, _)| *k == 0) {
                *free = (key, make());
                return &mut free.1;
            }
        }
        self.map.entry(key).or_insert_with(make)
    }

    /// Takes `key`'s value out. An inline entry keeps the value as a placeholder (the caller's
    /// values own nothing), under key 0.
    pub(super) fn remove(&mut self, key: usize) -> Option<V>
    where
        V: Copy,
    {
        match self.inline.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => {
                entry.0 = 0;
                Some(entry.1)
            }
            None => self.map.remove(&key),
        }
    }

    /// Entries, inline and on the heap: for the tests of the table's storage.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.inline.iter().filter(|(k, _)| *k != 0).count() + self.map.len()
    }

    /// Entries it holds without allocating more: for the tests of the table's storage.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        N + self.map.capacity()
    }

    /// Entries in the heap part.
    pub(super) fn heap_len(&self) -> usize {
        self.map.len()
    }

    /// Entries the heap part holds without allocating more.
    pub(super) fn heap_capacity(&self) -> usize {
        self.map.capacity()
    }

    /// Shrinks the heap part to hold at least `min_capacity` entries.
    pub(super) fn shrink_heap_to(&mut self, min_capacity: usize) {
        self.map.shrink_to(min_capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::Lists;
    use std::collections::hash_map::RandomState;

    fn lists() -> Lists<u32, RandomState, 2> {
        Lists::new([(0, 0); 2], RandomState::new())
    }

    #[test]
    fn keys_go_inline_first_then_to_the_map_and_each_is_found_where_it_is() {
        let mut lists = lists();
        for key in [8, 16, 24, 32] {
            *lists.get_or_insert_with(key, || 0) += key as u32;
        }
        // 8 and 16 inline, 24 and 32 in the map.
        assert_eq!(
            (lists.len(), lists.heap_len(), lists.capacity() >= 4),
            (4, 2, true)
        );
        for key in [8, 16, 24, 32] {
            assert_eq!(lists.get(key), Some(&(key as u32)));
            *lists.get_mut(key).unwrap() += 1;
            // Present: the existing value, `make` not called.
            assert_eq!(
                *lists.get_or_insert_with(key, || unreachable!()),
                key as u32 + 1
            );
        }
        assert_eq!(lists.get(40), None);
        assert_eq!(lists.get_mut(40), None);
        assert_eq!(lists.remove(16), Some(17)); // inline
        assert_eq!(lists.remove(32), Some(33)); // map
        assert_eq!(
            (lists.remove(16), lists.get(16), lists.get(32)),
            (None, None, None)
        );
        // The freed inline entry takes the next new key; a key in the map stays there.
        *lists.get_or_insert_with(40, || 5) += 0;
        assert_eq!((lists.get(40), lists.heap_len()), (Some(&5), 1));
        *lists.get_or_insert_with(24, || unreachable!()) += 0;
        assert_eq!((lists.get(24), lists.heap_len()), (Some(&25), 1));
    }

    #[test]
    fn up_to_n_keys_allocate_nothing() {
        let mut lists = lists();
        lists.get_or_insert_with(8, || 1);
        lists.get_or_insert_with(16, || 2);
        assert_eq!((lists.heap_len(), lists.heap_capacity()), (0, 0));
        lists.get_or_insert_with(24, || 3);
        assert!(lists.heap_capacity() >= 1);
        lists.remove(24);
        lists.shrink_heap_to(0);
        assert_eq!(lists.heap_capacity(), 0);
    }
}
