//! Which tasks have not finished: the bookkeeping behind [`TaskGroup::pending`] and the
//! snapshot it returns (issue 23).
//!
//! Kept under the group's state lock, written at admission and when a task's outcome is
//! recorded (both already take that lock), and when a queued task gets its slot (a slow path).
//! Per task: one 16-byte entry in a window that starts at the oldest unfinished task. A named
//! task also gets its name and a clock read (before the admission's lock); an unnamed one
//! gets neither, so naming nothing costs (almost) nothing: its state is known, not since when.

use super::group::TaskGroup;
use crate::sync::lock;
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

/// A task's name, as given to [`TaskGroup::named`].
pub(crate) type Name = Cow<'static, str>;

/// The unfinished tasks of a group, by submission index.
pub(crate) struct Table {
    /// The submission index of `since[0]`: every task before it has finished.
    base: usize,
    /// From the oldest unfinished task to the newest admitted one. Finished tasks at the
    /// front are popped at once, so the window holds only the tasks finished after the oldest
    /// unfinished one.
    since: VecDeque<Entry>,
    /// The names given, of the unfinished tasks only.
    names: BTreeMap<usize, Name>,
    /// The unfinished tasks admitted without a slot (queued by one of the group's own tasks
    /// at the limit) that have not got one yet.
    queued: BTreeMap<usize, ()>,
}

/// One task of the window.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Finished,
    /// Unfinished, unnamed: no clock was read for it.
    Untimed,
    /// Unfinished, named: when it entered its present state.
    Since(Instant),
}

impl Table {
    pub(crate) const fn new() -> Self {
        Table {
            base: 0,
            since: VecDeque::new(),
            names: BTreeMap::new(),
            queued: BTreeMap::new(),
        }
    }

    /// Task `index` (the next submission index) was admitted at `now`, waiting for a slot if
    /// `queued`. Tasks recorded as `Cancelled` at admission are never entered.
    #[inline]
    pub(crate) fn admit(
        &mut self,
        index: usize,
        now: Option<Instant>,
        name: Option<Name>,
        queued: bool,
    ) {
        if self.since.is_empty() {
            // Every earlier task has finished (or was never entered): start the window here.
            self.base = index;
        }
        debug_assert!(index >= self.base + self.since.len());
        // Indices of tasks cancelled at admission are skipped: filled as finished.
        while self.base + self.since.len() < index {
            self.since.push_back(Entry::Finished);
        }
        self.since
            .push_back(now.map_or(Entry::Untimed, Entry::Since));
        if let Some(name) = name {
            self.names.insert(index, name);
        }
        if queued {
            self.queued.insert(index, ());
        }
    }

    /// A queued task got its slot (or the group's cancellation) at `now`.
    pub(crate) fn got_slot(&mut self, index: usize, now: Instant) {
        if self.queued.remove(&index).is_some() {
            if let Some(entry @ Entry::Since(_)) = self.since.get_mut(index - self.base) {
                *entry = Entry::Since(now);
            }
        }
    }

    /// Task `index` finished. Returns its name, to be dropped after the lock.
    #[inline]
    pub(crate) fn finish(&mut self, index: usize) -> Option<Name> {
        if let Some(entry) = self.since.get_mut(index.wrapping_sub(self.base)) {
            *entry = Entry::Finished;
        }
        while let Some(Entry::Finished) = self.since.front() {
            self.since.pop_front();
            self.base += 1;
        }
        if !self.queued.is_empty() {
            self.queued.remove(&index);
        }
        if self.names.is_empty() {
            None
        } else {
            self.names.remove(&index)
        }
    }

    /// The unfinished tasks, oldest submission first, as seen at `now`.
    fn snapshot(&self, now: Instant) -> Vec<PendingTask> {
        let unfinished = self.since.iter().enumerate().filter_map(|(i, entry)| {
            let since = match *entry {
                Entry::Finished => return None,
                Entry::Untimed => None,
                Entry::Since(at) => Some(at),
            };
            let index = self.base + i;
            Some(PendingTask {
                index,
                name: self.names.get(&index).cloned(),
                state: if self.queued.contains_key(&index) {
                    TaskState::WaitingForSlot
                } else {
                    TaskState::Running
                },
                since,
                elapsed: since.map(|at| now.saturating_duration_since(at)),
            })
        });
        unfinished.collect()
    }
}

/// What an unfinished task is doing, as far as the group can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Admitted without a slot (added at the limit by one of the group's own tasks, see the
    /// [module docs](super), **Limit**), waiting for one before it starts.
    WaitingForSlot,
    /// Admitted with a slot (or the group has no limit): its thread runs it, or its future
    /// was handed back to be polled. A future that was admitted but never spawned nor
    /// awaited is in this state too, and stays there.
    Running,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::WaitingForSlot => "waiting for a slot",
            TaskState::Running => "running",
        })
    }
}

/// One unfinished task in a [`TaskGroup::pending`] snapshot.
///
/// Its `Display` is one line: `task 3 "fetch users": running for 2.003s` (an unnamed task:
/// `task 4: running`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingTask {
    /// The task's submission index, from 0: its place in `wait`'s values, and the `task` of a
    /// [`Cause`](super::Cause).
    pub index: usize,
    /// The name it was given with [`TaskGroup::named`], if any.
    pub name: Option<Cow<'static, str>>,
    /// Waiting for a slot or running.
    pub state: TaskState,
    /// When it entered `state`: its admission, or for a queued task the moment it got its
    /// slot. Kept for named tasks only (`None` for an unnamed one: the clock is read only for
    /// tasks given a name, so that naming nothing costs nothing).
    pub since: Option<Instant>,
    /// How long it had been in `state` when the snapshot was taken (named tasks only).
    pub elapsed: Option<Duration>,
}

impl fmt::Display for PendingTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.index)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(f, ": {}", self.state)?;
        match self.elapsed {
            Some(elapsed) => write!(f, " for {elapsed:.3?}"),
            None => Ok(()),
        }
    }
}

/// At most this many unfinished tasks are listed by the group's `Debug`.
const DEBUG_LISTED: usize = 16;

/// The `pending` field of the group's `Debug`: the oldest unfinished tasks, then a count.
pub(crate) struct DebugPending(Vec<PendingTask>, usize);

impl fmt::Debug for DebugPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for task in &self.0 {
            list.entry(&format_args!("{task}"));
        }
        if self.1 > self.0.len() {
            list.entry(&format_args!("... {} more", self.1 - self.0.len()));
        }
        list.finish()
    }
}

impl<T, E> TaskGroup<T, E> {
    /// A snapshot of the tasks that have not finished, oldest submission first: each one's
    /// index, name, state (waiting for a slot or running) and how long it has been in it.
    /// Finished tasks are not in it. For the question "my wait does not return: which task
    /// never finished?": call it after a timed wait gives up (or print the group, whose
    /// `Debug` lists the first 16).
    ///
    /// A caller blocked in [`spawn`](Self::spawn) or [`track`](Self::track) at the limit, or
    /// a pending [`track_async`](Self::track_async), has not been admitted: it has no index
    /// yet and is not listed (the group's `Debug` counts it in the limit's `waiting`).
    ///
    /// Cost: one lock acquisition and a pass over the tasks admitted since the oldest
    /// unfinished one; nothing while no one asks.
    ///
    /// # Examples
    ///
    /// A wait that does not return, and who is late:
    ///
    /// ```
    /// use groupwait::task_group::{TaskGroup, TaskState};
    /// use std::time::Duration;
    ///
    /// let group = TaskGroup::<(), ()>::new();
    /// let (release, stuck) = std::sync::mpsc::channel::<()>();
    /// group.named("fetch users").spawn(move || stuck.recv().map_err(drop));
    /// group.spawn(|| Ok(()));
    ///
    /// if group.wait_timeout(Duration::from_millis(50)).is_none() {
    ///     for task in group.pending() {
    ///         eprintln!("still running: {task}"); // task 0 "fetch users": running for 50.2ms
    ///     }
    /// }
    /// # let pending = group.pending();
    /// # assert_eq!(pending[0].name.as_deref(), Some("fetch users"));
    /// # assert_eq!(pending[0].state, TaskState::Running);
    /// release.send(()).unwrap();
    /// assert_eq!(group.wait(), Ok(vec![(), ()]));
    /// assert!(group.pending().is_empty());
    /// ```
    #[must_use]
    pub fn pending(&self) -> Vec<PendingTask> {
        let now = Instant::now();
        lock(&self.shared.state).pending.snapshot(now)
    }

    /// The `pending` field of the group's `Debug`.
    pub(crate) fn debug_pending(&self) -> DebugPending {
        let mut listed = self.pending();
        let all = listed.len();
        listed.truncate(DEBUG_LISTED);
        DebugPending(listed, all)
    }
}

#[cfg(test)]
mod tests {
    use super::{Table, TaskState};
    use std::time::{Duration, Instant};

    fn indices(table: &Table) -> Vec<usize> {
        table
            .snapshot(Instant::now())
            .iter()
            .map(|t| t.index)
            .collect()
    }

    #[test]
    fn finished_tasks_leave_the_window() {
        let now = Instant::now();
        let mut table = Table::new();
        for i in 0..4 {
            table.admit(i, None, None, false);
        }
        table.finish(1);
        table.finish(2);
        assert_eq!(indices(&table), [0, 3]);
        assert_eq!(table.since.len(), 4); // 1 and 2 wait behind 0
        table.finish(0);
        assert_eq!(table.since.len(), 1); // then leave with it
        assert_eq!((table.base, indices(&table)), (3, vec![3]));
        table.finish(3);
        assert!(table.since.is_empty() && indices(&table).is_empty());
        // A cancelled admission (index 4) is never entered; the window restarts at 5.
        table.admit(5, Some(now), Some("five".into()), false);
        assert_eq!(indices(&table), [5]);
        table.admit(7, None, None, false);
        assert_eq!(indices(&table), [5, 7]);
        assert_eq!(table.finish(5).as_deref(), Some("five"));
        assert!(table.names.is_empty());
        assert_eq!(indices(&table), [7]);
    }

    #[test]
    fn a_queued_task_waits_until_it_gets_its_slot() {
        let admitted = Instant::now();
        let mut table = Table::new();
        table.admit(0, None, None, false);
        table.admit(1, Some(admitted), Some("child".into()), true);
        let states = |t: &Table| -> Vec<TaskState> {
            t.snapshot(Instant::now()).iter().map(|p| p.state).collect()
        };
        assert_eq!(
            states(&table),
            [TaskState::Running, TaskState::WaitingForSlot]
        );
        let slot = admitted + Duration::from_millis(5);
        table.got_slot(1, slot);
        let snapshot = table.snapshot(slot);
        assert_eq!(snapshot[1].state, TaskState::Running);
        assert_eq!(
            (snapshot[1].since, snapshot[1].elapsed),
            (Some(slot), Some(Duration::ZERO))
        );
        assert_eq!(
            snapshot[1].to_string(),
            "task 1 \"child\": running for 0.000ns"
        );
        // The unnamed task was not timed: no clock was read for it.
        assert_eq!((snapshot[0].since, snapshot[0].elapsed), (None, None));
        assert_eq!(snapshot[0].to_string(), "task 0: running");
    }
}
