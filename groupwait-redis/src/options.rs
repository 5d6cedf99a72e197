//! How a group is opened: the lost-member policy, lease and key lifetimes, network bounds.

use std::time::Duration;

/// What a group does when a member's lease ends without `done`.
///
/// Chosen when the group is created (the first `open` that finds no group); opening an
/// existing group with another policy is [`Error::BadInput`](crate::Error::BadInput).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LostPolicy {
    /// Fail the round: every waiter gets [`Error::LostMember`](crate::Error::LostMember)
    /// naming the first lost member, until [`Group::reset`](crate::Group::reset).
    #[default]
    Fail,
    /// Count the lost member as done: the round can still complete. Choose this only if
    /// the work is safe to lose (or is checked by other means).
    CountAsDone,
}

impl LostPolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LostPolicy::Fail => "fail",
            LostPolicy::CountAsDone => "count",
        }
    }
}

/// Options for [`Group::open_with`](crate::Group::open_with). Start from
/// [`Options::default()`] and change what you need.
///
/// # Examples
///
/// ```
/// use groupwait_redis::{LostPolicy, Options};
/// use std::time::Duration;
///
/// let options = Options::default()
///     .policy(LostPolicy::CountAsDone)
///     .lease(Duration::from_secs(5));
/// assert_eq!(options.lease_duration(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) policy: LostPolicy,
    pub(crate) lease: Duration,
    pub(crate) key_ttl: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) retry_for: Duration,
    pub(crate) replicas: Option<(u32, Duration)>,
    #[cfg(feature = "tls-rustls")]
    pub(crate) tls_root_cert: Option<Vec<u8>>,
}

impl Default for Options {
    /// Policy [`LostPolicy::Fail`], 10 s leases, keys kept 24 h after the last change,
    /// 2 s to connect, 5 s for a reply, 30 s of reconnect attempts.
    fn default() -> Self {
        Options {
            policy: LostPolicy::Fail,
            lease: Duration::from_secs(10),
            key_ttl: Duration::from_secs(24 * 3600),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            retry_for: Duration::from_secs(30),
            replicas: None,
            #[cfg(feature = "tls-rustls")]
            tls_root_cert: None,
        }
    }
}

impl Options {
    /// The policy for a member whose lease ends without `done` (used if this open creates
    /// the group).
    #[must_use]
    pub fn policy(mut self, policy: LostPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a member's lease lasts without renewal. A member renews every third of it,
    /// so a member is declared lost between `lease` and `lease` + one renewal interval
    /// after it stops. At least 100 ms (checked by `open_with`).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The lease set by [`lease`](Self::lease).
    pub fn lease_duration(&self) -> Duration {
        self.lease
    }

    /// How long the group's keys outlive its last activity, at most (used if this open creates
    /// the group). The TTL is renewed at least every half of it while the group is used, so an
    /// abandoned group disappears between half of this and all of it after its last change or
    /// lease renewal. At least 1 s.
    #[must_use]
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.key_ttl = ttl;
        self
    }

    /// The bound on one connection attempt.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The bound on one reply (a blocking read waits at most 10 s more than this).
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long an idempotent operation (`wait`, a member's `join`, `done` and lease
    /// renewal) keeps reconnecting and retrying after the connection is lost, for example
    /// while Redis restarts. Not idempotent, and so never retried: [`Group::add`],
    /// [`Group::done`] and [`Group::reset`].
    ///
    /// [`Group::add`]: crate::Group::add
    /// [`Group::done`]: crate::Group::done
    /// [`Group::reset`]: crate::Group::reset
    #[must_use]
    pub fn retry_for(mut self, window: Duration) -> Self {
        self.retry_for = window;
        self
    }

    /// Makes every `done` (a member's and the anonymous one) wait until `n` replicas have
    /// acknowledged it (`WAIT n timeout`), for deployments that fail over to a replica: a
    /// `done` that returned `Ok` is then on `n` replicas as well as the primary. If fewer
    /// acknowledge within `timeout` (at most 10 s, checked by `open_with`), the `done` returns
    /// [`Error::NotReplicated`](crate::Error::NotReplicated): it is recorded on the primary
    /// but may be lost by a failover. Off by default.
    #[must_use]
    pub fn replicas(mut self, n: u32, timeout: Duration) -> Self {
        self.replicas = Some((n, timeout));
        self
    }

    /// For `rediss://` URLs: trust this root certificate (PEM) instead of the system's
    /// roots, for a server whose certificate a private CA signed. The server's name or IP
    /// address in the URL is still checked against its certificate. Needs a `tls-rustls*`
    /// feature.
    #[cfg(feature = "tls-rustls")]
    #[must_use]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_cert = Some(pem.into());
        self
    }
}
