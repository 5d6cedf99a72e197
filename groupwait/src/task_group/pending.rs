//! Which tasks have not finished: the bookkeeping behind [`TaskGroup::pending`] and the
//! snapshot it returns (issue 23).
//!
//! The group's outcome slots already say which tasks have finished (`None` while a task
//! runs), so an unnamed task that never waited for a slot costs the table nothing: it is
//! found by the snapshot, which walks the slots from the oldest task it last saw unfinished.
//! Only a named task (its name and a clock read, taken before the admission's lock) and a task
//! admitted without a slot have entries, under the group's state lock.

use super::group::TaskGroup;
use crate::sync::lock;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// A task's name, as given to [`TaskGroup::named`].
pub(crate) type Name = Cow<'static, str>;

/// The named and the queued unfinished tasks of a group, by submission index.
pub(crate) struct Table {
    /// Every task before this submission index has finished: where the next snapshot starts
    /// its walk. Advanced by the snapshots only (a finishing task does not touch it).
    base: usize,
    /// The unfinished named tasks: the name, and when the task entered its present state.
    named: BTreeMap<usize, (Name, Instant)>,
    /// The unfinished tasks admitted without a slot (queued by one of the group's own tasks
    /// at the limit) that have not got one yet.
    queued: BTreeMap<usize, ()>,
}

impl Table {
    pub(crate) const fn new() -> Self {
        Table {
            base: 0,
            named: BTreeMap::new(),
            queued: BTreeMap::new(),
        }
    }

    /// Task `index` was admitted, named (with the moment of its admission) if `named`,
    /// waiting for a slot if `queued`. An unnamed task with a slot needs no entry.
    #[inline]
    pub(crate) fn admit(&mut self, index: usize, named: Option<(Name, Instant)>, queued: bool) {
        if let Some(named) = named {
            self.named.insert(index, named);
        }
        if queued {
            self.queued.insert(index, ());
        }
    }

    /// A queued task got its slot (or the group's cancellation) at `now`.
    pub(crate) fn got_slot(&mut self, index: usize, now: Instant) {
        if self.queued.remove(&index).is_some() {
            if let Some((_, since)) = self.named.get_mut(&index) {
                *since = now;
            }
        }
    }

    /// Task `index` finished (its outcome slot is set). Returns its name, to be dropped after
    /// the lock.
    #[inline]
    pub(crate) fn finish(&mut self, index: usize) -> Option<Name> {
        if !self.queued.is_empty() {
            self.queued.remove(&index);
        }
        if self.named.is_empty() {
            None
        } else {
            self.named.remove(&index).map(|(name, _)| name)
        }
    }

    /// The unfinished tasks, oldest submission first, as seen at `now`, of the `submitted`
    /// tasks: those whose outcome is not written (`finished(index)` false).
    fn snapshot(
        &mut self,
        submitted: usize,
        finished: impl Fn(usize) -> bool,
        now: Instant,
    ) -> Vec<PendingTask> {
        // The finished tasks before the oldest unfinished one are not walked again.
        let from = self.base.min(submitted);
        self.base = (from..submitted)
            .find(|&i| !finished(i))
            .unwrap_or(submitted);
        let unfinished = (self.base..submitted)
            .filter(|&i| !finished(i))
            .map(|index| {
                let named = self.named.get(&index);
                let since = named.map(|&(_, since)| since);
                PendingTask {
                    index,
                    name: named.map(|(name, _)| name.clone()),
                    state: if self.queued.contains_key(&index) {
                        TaskState::WaitingForSlot
                    } else {
                        TaskState::Running
                    },
                    since,
                    elapsed: since.map(|at| now.saturating_duration_since(at)),
                }
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
        let shared = &*self.shared;
        let mut state = lock(&shared.state);
        if state.taken {
            // A wait took the outcomes: every task had finished.
            return Vec::new();
        }
        // Read under the lock, which a named, queued or cancelled task's admission holds from
        // taking its index to recording the rest: such a task is seen whole or not at all.
        let submitted = shared.admissions.submitted();
        state
            .pending
            .snapshot(submitted, |i| shared.slots.is_set(i), now)
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

    fn indices(table: &mut Table, outcomes: &[Option<()>]) -> Vec<usize> {
        table
            .snapshot(outcomes.len(), |i| outcomes[i].is_some(), Instant::now())
            .iter()
            .map(|t| t.index)
            .collect()
    }

    #[test]
    fn finished_tasks_leave_the_snapshot() {
        let now = Instant::now();
        let mut table = Table::new();
        let mut outcomes = vec![None; 4];
        for i in 0..4 {
            table.admit(i, None, false);
        }
        outcomes[1] = Some(());
        outcomes[2] = Some(());
        assert_eq!(indices(&mut table, &outcomes), [0, 3]);
        assert_eq!(table.base, 0); // 1 and 2 wait behind 0
        outcomes[0] = Some(());
        assert_eq!(indices(&mut table, &outcomes), [3]);
        assert_eq!(table.base, 3); // then are passed with it
        outcomes[3] = Some(());
        assert!(indices(&mut table, &outcomes).is_empty());
        assert_eq!(table.base, 4);
        // A cancelled admission (index 4) is set at once; 5 is named, 6 unnamed.
        outcomes.extend([Some(()), None, None]);
        table.admit(5, Some(("five".into(), now)), false);
        table.admit(6, None, false);
        assert_eq!(indices(&mut table, &outcomes), [5, 6]);
        outcomes[5] = Some(());
        assert_eq!(table.finish(5).as_deref(), Some("five"));
        assert!(table.named.is_empty());
        assert_eq!(indices(&mut table, &outcomes), [6]);
        // The outcomes taken by a wait: nothing is listed.
        assert!(indices(&mut table, &[]).is_empty());
    }

    #[test]
    fn a_queued_task_waits_until_it_gets_its_slot() {
        let admitted = Instant::now();
        let mut table = Table::new();
        let outcomes: [Option<()>; 2] = [None, None];
        table.admit(0, None, false);
        table.admit(1, Some(("child".into(), admitted)), true);
        let states = |t: &mut Table| -> Vec<TaskState> {
            t.snapshot(outcomes.len(), |i| outcomes[i].is_some(), Instant::now())
                .iter()
                .map(|p| p.state)
                .collect()
        };
        assert_eq!(
            states(&mut table),
            [TaskState::Running, TaskState::WaitingForSlot]
        );
        let slot = admitted + Duration::from_millis(5);
        table.got_slot(1, slot);
        let snapshot = table.snapshot(outcomes.len(), |i| outcomes[i].is_some(), slot);
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
