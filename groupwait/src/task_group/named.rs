//! `TaskGroup::named`: the same spawn forms, for a task that carries a name (issue 23).

use super::error::TrySpawnError;
use super::group::TaskGroup;
use super::pending::Name;
use std::fmt;
use std::future::Future;
use std::thread::Scope;

/// A name for the next task of a group, from [`TaskGroup::named`]: its methods are the
/// group's spawn forms, each adding one task with that name.
///
/// The name is shown by [`TaskGroup::pending`] and the group's `Debug` while the task has
/// not finished, and, with the `tracing` feature, carried by the task's span. Tasks added
/// without a name cost nothing more than before: the name is stored only when given.
///
/// # Examples
///
/// ```
/// use groupwait::task_group::TaskGroup;
///
/// let group = TaskGroup::<usize, ()>::new();
/// for host in ["alpha", "beta"] {
///     group.named(format!("ping {host}")).spawn(move || Ok(host.len()));
/// }
/// assert_eq!(group.wait(), Ok(vec![5, 4]));
/// ```
#[must_use = "a name does nothing until a task is added with it"]
pub struct Named<'a, T, E> {
    group: &'a TaskGroup<T, E>,
    name: Name,
}

impl<T, E> TaskGroup<T, E> {
    /// Names the task added next through the returned [`Named`]: a `&'static str` (not
    /// copied) or a `String`.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::task_group::TaskGroup;
    ///
    /// # futures::executor::block_on(async {
    /// let group = TaskGroup::<u32, ()>::new();
    /// let task = group.named("fetch users").track(async { Ok(3) });
    /// assert_eq!(group.pending()[0].name.as_deref(), Some("fetch users"));
    /// task.await;
    /// assert_eq!(group.wait_async().await, Ok(vec![3]));
    /// # });
    /// ```
    pub fn named(&self, name: impl Into<std::borrow::Cow<'static, str>>) -> Named<'_, T, E> {
        Named {
            group: self,
            name: name.into(),
        }
    }
}

impl<T, E> Named<'_, T, E> {
    /// [`TaskGroup::spawn`], for a task with this name.
    ///
    /// # Panics
    ///
    /// As [`TaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::new();
    /// group.named("index").spawn(|| Ok(()));
    /// group.wait().unwrap();
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.group.spawn_with(Some(self.name), f);
    }

    /// [`TaskGroup::try_spawn`], for a task with this name.
    ///
    /// # Errors
    ///
    /// As [`TaskGroup::try_spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<(), ()>::with_limit(1);
    /// group.named("first").try_spawn(|| Ok(())).expect("a slot is free");
    /// group.wait().unwrap();
    /// ```
    pub fn try_spawn<F>(self, f: F) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.group.try_spawn_with(Some(self.name), f)
    }

    /// [`TaskGroup::spawn_scoped`], for a task with this name.
    ///
    /// # Panics
    ///
    /// As [`TaskGroup::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let data = [1, 2, 3];
    /// let group = groupwait::task_group::TaskGroup::<i32, ()>::new();
    /// std::thread::scope(|s| {
    ///     group.named("sum").spawn_scoped(s, || Ok(data.iter().sum()));
    ///     assert_eq!(group.wait(), Ok(vec![6]));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F>(self, scope: &'scope Scope<'scope, 'env>, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        self.group.spawn_scoped_with(Some(self.name), scope, f);
    }

    /// [`TaskGroup::try_spawn_scoped`], for a task with this name.
    ///
    /// # Errors
    ///
    /// As [`TaskGroup::try_spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// let group = groupwait::task_group::TaskGroup::<u8, ()>::with_limit(1);
    /// std::thread::scope(|s| {
    ///     group.named("one").try_spawn_scoped(s, || Ok(1)).unwrap();
    ///     assert_eq!(group.wait(), Ok(vec![1]));
    /// });
    /// ```
    pub fn try_spawn_scoped<'scope, 'env, F>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> Result<(), TrySpawnError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
        E: Send + 'scope,
    {
        self.group.try_spawn_scoped_with(Some(self.name), scope, f)
    }

    /// [`TaskGroup::track`], for a task with this name.
    ///
    /// # Panics
    ///
    /// As [`TaskGroup::track`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let group = groupwait::task_group::TaskGroup::<u8, ()>::new();
    /// group.named("read config").track(async { Ok(1) }).await;
    /// assert_eq!(group.wait_async().await, Ok(vec![1]));
    /// # });
    /// ```
    #[track_caller]
    #[must_use = "the returned future runs the task: spawn it or await it"]
    pub fn track<F>(self, fut: F) -> impl Future<Output = ()> + use<T, E, F>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.group.track_with(Some(self.name), fut)
    }

    /// [`TaskGroup::try_track`], for a task with this name.
    ///
    /// # Errors
    ///
    /// As [`TaskGroup::try_track`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let group = groupwait::task_group::TaskGroup::<u8, ()>::with_limit(1);
    /// let task = group.named("one").try_track(async { Ok(1) }).unwrap();
    /// task.await;
    /// assert_eq!(group.wait_async().await, Ok(vec![1]));
    /// # });
    /// ```
    pub fn try_track<F>(
        self,
        fut: F,
    ) -> Result<impl Future<Output = ()> + use<T, E, F>, TrySpawnError<F>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.group.try_track_with(Some(self.name), fut)
    }

    /// [`TaskGroup::track_async`], for a task with this name.
    ///
    /// # Cancel safety
    ///
    /// As [`TaskGroup::track_async`]: dropped before it completes, nothing was admitted.
    ///
    /// # Panics
    ///
    /// As [`TaskGroup::track_async`].
    ///
    /// # Examples
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let group = groupwait::task_group::TaskGroup::<u8, ()>::with_limit(1);
    /// group.named("one").track_async(async { Ok(1) }).await.await;
    /// assert_eq!(group.wait_async().await, Ok(vec![1]));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[allow(clippy::async_yields_async)] // by design: it yields the task future to spawn
    pub fn track_async<F>(
        self,
        fut: F,
    ) -> impl Future<Output = impl Future<Output = ()> + use<T, E, F>> + use<T, E, F>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.group.track_async_with(Some(self.name), fut)
    }
}

impl<T, E> fmt::Debug for Named<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Named")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
