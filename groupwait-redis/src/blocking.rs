//! Blocking forms of [`Group`](crate::Group) and [`Member`](crate::Member), for code without
//! an async runtime. Each group owns a one-thread tokio runtime that runs the connection,
//! the lease renewals and the calls, which block the calling thread.
//!
//! # Panics
//!
//! Every blocking method panics if called from inside an async runtime (tokio refuses to
//! block a runtime thread); use the async types there. Dropping the handles is fine
//! anywhere.

use crate::error::Result;
use crate::options::Options;
use crate::Status;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// The group's runtime. Dropped with `shutdown_background`, which never blocks, so that the
/// last handle may be dropped anywhere, inside an async runtime too.
struct OwnedRuntime(Option<Runtime>);

impl std::ops::Deref for OwnedRuntime {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        // Some from construction until drop.
        self.0.as_ref().expect("runtime present until drop")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// How long dropping a blocking [`Member`] without `done` waits for the `leave` script.
pub const LEAVE_ON_DROP_TIMEOUT: Duration = Duration::from_secs(1);

/// The blocking form of [`crate::Group`].
///
/// # Examples
///
/// ```no_run
/// use groupwait_redis::blocking::Group;
///
/// let group = Group::open("redis://127.0.0.1/", "jobs")?;
/// let member = group.join()?;
/// member.done()?;
/// group.wait()?;
/// # Ok::<(), groupwait_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct Group {
    inner: crate::Group,
    runtime: Arc<OwnedRuntime>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Group {
    /// Blocking [`crate::Group::open`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::open`], plus [`Error::Connection`](crate::Error::Connection) if the
    /// runtime thread cannot be started.
    pub fn open(url: &str, name: &str) -> Result<Group> {
        Group::open_with(url, name, Options::default())
    }

    /// Blocking [`crate::Group::open_with`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::open_with`].
    pub fn open_with(url: &str, name: &str, options: Options) -> Result<Group> {
        Group::open_by(|| crate::Group::open_with(url, name, options))
    }

    /// Blocking [`crate::Group::open_cluster_with`] (feature `cluster`).
    ///
    /// # Errors
    ///
    /// As [`crate::Group::open_cluster_with`].
    #[cfg(feature = "cluster")]
    pub fn open_cluster_with(nodes: &[&str], name: &str, options: Options) -> Result<Group> {
        Group::open_by(|| crate::Group::open_cluster_with(nodes, name, options))
    }

    /// Runs `open` on a runtime of the group's own.
    fn open_by<F: std::future::Future<Output = Result<crate::Group>>>(
        open: impl FnOnce() -> F,
    ) -> Result<Group> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("groupwait-redis")
            .enable_all()
            .build()
            .map_err(|e| crate::Error::Connection(redis::RedisError::from(e)))?;
        let inner = runtime.block_on(open())?;
        Ok(Group {
            inner,
            runtime: Arc::new(OwnedRuntime(Some(runtime))),
        })
    }

    /// The async group this wraps (usable from async code holding a runtime).
    pub fn as_async(&self) -> &crate::Group {
        &self.inner
    }

    /// Blocking [`crate::Group::add`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::add`].
    pub fn add(&self, n: u64) -> Result<()> {
        self.runtime.block_on(self.inner.add(n))
    }

    /// Blocking [`crate::Group::done`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::done`].
    pub fn done(&self) -> Result<()> {
        self.runtime.block_on(self.inner.done())
    }

    /// Blocking [`crate::Group::done_once`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::done_once`].
    pub fn done_once(&self, key: &str) -> Result<()> {
        self.runtime.block_on(self.inner.done_once(key))
    }

    /// Blocking [`crate::Group::join`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::join`].
    pub fn join(&self) -> Result<Member> {
        let m = self.runtime.block_on(self.inner.join())?;
        Ok(self.wrap(m))
    }

    /// Blocking [`crate::Group::join_as`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::join_as`].
    pub fn join_as(&self, id: &str) -> Result<Member> {
        let m = self.runtime.block_on(self.inner.join_as(id))?;
        Ok(self.wrap(m))
    }

    /// Blocking [`crate::Group::join_adding`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::join_adding`].
    pub fn join_adding(&self) -> Result<Member> {
        let m = self.runtime.block_on(self.inner.join_adding())?;
        Ok(self.wrap(m))
    }

    /// Blocking [`crate::Group::join_adding_as`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::join_adding_as`].
    pub fn join_adding_as(&self, id: &str) -> Result<Member> {
        let m = self.runtime.block_on(self.inner.join_adding_as(id))?;
        Ok(self.wrap(m))
    }

    fn wrap(&self, m: crate::Member) -> Member {
        Member {
            inner: Some(m),
            runtime: self.runtime.clone(),
        }
    }

    /// Blocking [`crate::Group::count`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::count`].
    pub fn count(&self) -> Result<u64> {
        self.runtime.block_on(self.inner.count())
    }

    /// Blocking [`crate::Group::status`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::status`].
    pub fn status(&self) -> Result<Status> {
        self.runtime.block_on(self.inner.status())
    }

    /// Blocking [`crate::Group::outstanding`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::outstanding`].
    pub fn outstanding(&self) -> Result<crate::Outstanding> {
        self.runtime.block_on(self.inner.outstanding())
    }

    /// Blocking [`crate::Group::reset`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::reset`].
    pub fn reset(&self) -> Result<u64> {
        self.runtime.block_on(self.inner.reset())
    }

    /// Blocking [`crate::Group::delete`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::delete`].
    pub fn delete(&self) -> Result<()> {
        self.runtime.block_on(self.inner.delete())
    }

    /// Blocking [`crate::Group::wait`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::wait`].
    pub fn wait(&self) -> Result<()> {
        self.runtime.block_on(self.inner.wait())
    }

    /// Blocking [`crate::Group::wait_timeout`].
    ///
    /// # Errors
    ///
    /// As [`crate::Group::wait_timeout`].
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.runtime.block_on(self.inner.wait_timeout(timeout))
    }
}

/// The blocking form of [`crate::Member`]. Dropping it without `done` runs the `leave`
/// script before returning, bounded by [`LEAVE_ON_DROP_TIMEOUT`] (a background task would
/// die with the group's runtime if this was the last handle).
#[must_use = "a member dropped without `done` is reported lost"]
pub struct Member {
    inner: Option<crate::Member>,
    runtime: Arc<OwnedRuntime>,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Member {
    /// The member's id.
    pub fn id(&self) -> &str {
        self.inner.as_ref().map_or("", |m| m.id())
    }

    /// The round the member joined.
    pub fn round(&self) -> u64 {
        self.inner.as_ref().map_or(0, |m| m.round())
    }

    /// Blocking [`crate::Member::done`].
    ///
    /// # Errors
    ///
    /// As [`crate::Member::done`].
    pub fn done(mut self) -> Result<()> {
        match self.inner.take() {
            Some(m) => self.runtime.block_on(m.done()),
            None => Ok(()),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some((group, who)) = self.inner.take().and_then(crate::Member::disarm) {
            let leave = crate::member::leave(group, who);
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped inside an async runtime, where blocking would panic: hand the
                // leave to the group's runtime instead.
                self.runtime.spawn(leave);
                return;
            }
            // The timer is created inside `block_on`, in the runtime's context.
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(LEAVE_ON_DROP_TIMEOUT, leave).await });
        }
    }
}
