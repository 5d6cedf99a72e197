//! The public async type: a group named by a string, on one Redis server.

use crate::connection::{Backend, CommandConn, WaitConn};
use crate::error::{Error, Result};
use crate::member::Member;
use crate::options::Options;
use crate::scripts;
use redis::Script;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A wait group shared by every process that opens the same name on the same Redis.
///
/// Cheap to clone (an `Arc`): clones share one auto-reconnecting connection for commands
/// and a small pool of connections for blocking reads.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), groupwait_redis::Error> {
/// use groupwait_redis::Group;
///
/// // The coordinator reserves three slots and waits.
/// let group = Group::open("redis://127.0.0.1/", "nightly-build").await?;
/// group.add(3).await?;
/// // ... three workers, each: let m = group.join().await?; work; m.done().await?;
/// group.wait().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Group {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    name: String,
    /// `gw:{name}:state`, `:members`, `:leases`, `:log`: one hash tag, one cluster slot.
    keys: [String; 4],
    backend: Backend,
    conn: CommandConn,
    /// Connections for `XREAD BLOCK`: a blocked read holds its connection, so waiters must
    /// not share the command connection.
    waiters: Mutex<Vec<WaitConn>>,
    pub(crate) options: Options,
    /// The incarnation of the group this handle has seen (learned from its first reply that
    /// found the group), sent with every call so that a group lost and recreated since is
    /// reported, never taken for this one. Only `reset` replaces it.
    incarnation: Mutex<Option<String>>,
}

/// Which incarnation of the group a call expects.
#[derive(Clone, Copy)]
pub(crate) enum Expect<'a> {
    /// The handle's; learned from the reply if the handle has none yet.
    Handle,
    /// This one (a member's, or a waiter's).
    Exactly(&'a str),
    /// Whatever is there (or a new one, for a call that may create): the handle adopts it.
    Adopt,
}

/// A group name or member id longer than this is refused: it is part of every key and log
/// entry.
pub(crate) const MAX_NAME_LEN: usize = 256;

/// The group's state as the server saw it, read in one atomic step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Status {
    /// The current round (a new group is in round 1; a new round begins
    /// when the count is zero and something is added, or on `reset`).
    pub round: u64,
    /// Outstanding units: `add`s not yet `done` plus joined members not yet done.
    pub count: u64,
    /// The first member lost in this round under [`LostPolicy::Fail`](crate::LostPolicy::Fail).
    pub lost: Option<String>,
}

/// What `observe` returns: the state plus the log position it corresponds to.
pub(crate) struct Observation {
    pub(crate) snapshot: Snapshot,
    pub(crate) last: String,
    pub(crate) policy: String,
}

/// The part of the state a waiter decides on; every log entry carries one too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) round: u64,
    pub(crate) count: i64,
    pub(crate) failed: String,
    /// Milliseconds from the server's now to the earliest lease deadline; negative if none.
    pub(crate) next_lease_ms: i64,
    /// The latest round that `reset` ended before its count reached zero.
    pub(crate) abandoned: Option<u64>,
}

/// A blocking read never blocks longer than this, so that every network call stays bounded
/// by the connection's response timeout (a half-open TCP connection is noticed).
pub(crate) const MAX_BLOCK: Duration = Duration::from_secs(10);

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("name", &self.inner.name)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

fn parse_u64(s: &str) -> Result<u64> {
    s.parse()
        .map_err(|_| Error::Protocol(format!("expected a number, got {s:?}")))
}

fn parse_i64(s: &str) -> Result<i64> {
    s.parse()
        .map_err(|_| Error::Protocol(format!("expected a number, got {s:?}")))
}

pub(crate) fn field(reply: &[String], i: usize) -> Result<&str> {
    reply
        .get(i)
        .map(String::as_str)
        .ok_or_else(|| Error::Protocol(format!("short script reply {reply:?}")))
}

impl Group {
    /// Opens (creating on first use) the group `name` on the Redis at `url`, with
    /// [`Options::default()`].
    ///
    /// `url` is what the `redis` crate accepts: `redis://[user:password@]host[:port][/db]`
    /// (`user` for an ACL user), `rediss://...` for TLS (a `tls-rustls*` feature, see the
    /// crate's `# Features`; `Options::tls_root_certificate` for a private CA), or
    /// `redis+unix:///path`. Without a TLS feature a `rediss://` URL is refused with
    /// [`Error::BadInput`], never tried in clear.
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] for a malformed URL or a name that is empty or holds `{` or `}`,
    /// or a `rediss://` URL without TLS support (see `# Features`);
    /// [`Error::Connection`] if the server is unreachable within the connect timeout, or the
    /// TLS handshake fails (the message says so when the port accepts TCP but does not
    /// answer TLS, as a plain Redis port);
    /// [`Error::Auth`] for wrong credentials or a missing ACL permission;
    /// [`Error::Protocol`] if a key of the group has the wrong type.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future opens nothing (at most, the group's keys were created).
    pub async fn open(url: &str, name: &str) -> Result<Group> {
        Group::open_with(url, name, Options::default()).await
    }

    /// Opens the group with explicit [`Options`].
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open), plus [`Error::BadInput`] if the lease is shorter than
    /// 100 ms, the key TTL shorter than 1 s, the replica wait longer than 10 s, or the group
    /// exists with another policy.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`open`](Self::open).
    pub async fn open_with(url: &str, name: &str, options: Options) -> Result<Group> {
        let backend = Backend::node(url, &options)?;
        Group::open_on(backend, name, options).await
    }

    /// [`open_cluster_with`](Self::open_cluster_with) with the default options.
    ///
    /// # Errors
    ///
    /// As [`open_cluster_with`](Self::open_cluster_with).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`open`](Self::open).
    #[cfg(feature = "cluster")]
    pub async fn open_cluster(nodes: &[&str], name: &str) -> Result<Group> {
        Group::open_cluster_with(nodes, name, Options::default()).await
    }

    /// The group `name` on the Redis Cluster that `nodes` belong to (the URL of any node will
    /// do; more than one lets the client start when one is down). All of a group's keys live
    /// in one slot (the group's hash tag), so on one node; the client follows the cluster when
    /// that slot moves. Needs the `cluster` feature.
    ///
    /// # Errors
    ///
    /// As [`open_with`](Self::open_with); also [`Error::BadInput`] if no node is given, or
    /// if `Options::replicas` is set (a `WAIT` must go to the node of the write; not
    /// supported on a cluster yet).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`open`](Self::open).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), groupwait_redis::Error> {
    /// use groupwait_redis::{Group, Options};
    ///
    /// let nodes = ["redis://:password@10.0.0.1:6379/", "redis://:password@10.0.0.2:6379/"];
    /// let group = Group::open_cluster_with(&nodes, "shards", Options::default()).await?;
    /// group.add(1).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "cluster")]
    pub async fn open_cluster_with(nodes: &[&str], name: &str, options: Options) -> Result<Group> {
        if options.replicas.is_some() {
            return Err(Error::BadInput(
                "Options::replicas is not supported on a cluster".into(),
            ));
        }
        let backend = Backend::cluster(nodes, &options)?;
        Group::open_on(backend, name, options).await
    }

    async fn open_on(backend: Backend, name: &str, options: Options) -> Result<Group> {
        if name.is_empty() || name.contains(['{', '}']) || name.len() > MAX_NAME_LEN {
            return Err(Error::BadInput(format!(
                "group name {name:?} must be non-empty, at most {MAX_NAME_LEN} bytes, and hold no '{{' or '}}'"
            )));
        }
        if options.lease < Duration::from_millis(100) {
            return Err(Error::BadInput("lease shorter than 100 ms".into()));
        }
        if options.replicas.is_some_and(|(_, t)| t > MAX_BLOCK) {
            return Err(Error::BadInput("replica wait longer than 10 s".into()));
        }
        if options.key_ttl < Duration::from_secs(1) {
            return Err(Error::BadInput("key TTL shorter than 1 s".into()));
        }
        // A first connection of its own, so that a wrong password or a closed port is
        // reported at once, as itself, instead of through the command connection's reconnect
        // attempts. It joins the waiters' pool afterwards, so it gets their response timeout.
        let mut probe = backend
            .wait_conn(&options, MAX_BLOCK + options.response_timeout)
            .await?;
        for script in scripts::all() {
            script.load_async(&mut probe).await?;
        }
        let conn = backend.command_conn(&options).await?;
        let tag = format!("gw:{{{name}}}");
        let keys = [
            format!("{tag}:state"),
            format!("{tag}:members"),
            format!("{tag}:leases"),
            format!("{tag}:log"),
        ];
        let group = Group {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                keys,
                backend,
                conn,
                waiters: Mutex::new(vec![probe]),
                options,
                incarnation: Mutex::new(None),
            }),
        };
        // A group that does not exist yet is fine here: the first `add` or join creates it.
        let obs = match group.observe_retrying().await {
            Err(Error::GroupLost { .. }) if group.incarnation().is_none() => return Ok(group),
            other => other?,
        };
        if obs.policy != group.inner.options.policy.as_str() {
            return Err(Error::BadInput(format!(
                "group {name:?} exists with lost-member policy {:?}",
                obs.policy
            )));
        }
        Ok(group)
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The incarnation this handle has seen, if any.
    pub(crate) fn incarnation(&self) -> Option<String> {
        self.inner
            .incarnation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn invocation<'a>(
        &self,
        script: &'a Script,
        expected: &str,
        args: &[&str],
    ) -> redis::ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        for k in &self.inner.keys {
            inv.key(k);
        }
        let candidate = if scripts::creates(script) {
            generate_id("i")
        } else {
            String::new()
        };
        inv.arg(self.inner.options.policy.as_str())
            .arg(self.inner.options.key_ttl.as_millis() as u64)
            .arg(expected)
            .arg(candidate);
        for a in args {
            inv.arg(*a);
        }
        inv
    }

    /// Runs one script once on the command connection.
    pub(crate) async fn invoke(
        &self,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
    ) -> Result<Vec<String>> {
        let mut conn = self.inner.conn.clone();
        self.run_on(&mut conn, script, expect, args).await
    }

    /// Runs `script` on `conn`; if it is a fast path that answered `slow` (having written
    /// nothing), runs the full script it stands for, on the same connection. Returns the
    /// reply without its last element, the group's incarnation, which it checks and learns
    /// (see [`Expect`]); a `gone` reply is [`Error::GroupLost`].
    async fn run_on<C: redis::aio::ConnectionLike>(
        &self,
        conn: &mut C,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
    ) -> Result<Vec<String>> {
        let sent = match expect {
            Expect::Handle => self.incarnation().unwrap_or_default(),
            Expect::Exactly(inc) => inc.to_owned(),
            Expect::Adopt => String::new(),
        };
        let mut reply: Vec<String> = self
            .invocation(script, &sent, args)
            .invoke_async(conn)
            .await?;
        if let Some(full) = scripts::full_script_for(script) {
            if reply.first().is_some_and(|status| status == "slow") {
                reply = self
                    .invocation(full, &sent, args)
                    .invoke_async(conn)
                    .await?;
            }
        }
        let found = reply
            .pop()
            .ok_or_else(|| Error::Protocol("empty script reply".into()))?;
        if reply.first().is_some_and(|status| status == "gone") {
            return Err(self.gone(reply.get(1).map(String::as_str).unwrap_or("")));
        }
        let mut known = self
            .inner
            .incarnation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match (expect, known.as_deref()) {
            // (An empty one is no group: a refused call that would have created it.)
            _ if found.is_empty() => {}
            (Expect::Adopt, _) | (Expect::Handle, None) => *known = Some(found),
            // The call was sent expecting nothing while another call learned an incarnation:
            // this reply is from another one only if the group was recreated in between.
            (Expect::Handle, Some(k)) if k != found => {
                drop(known);
                return Err(self.gone("replaced"));
            }
            _ => {}
        }
        Ok(reply)
    }

    /// [`Error::GroupLost`] for a script's `gone` reason.
    pub(crate) fn gone(&self, why: &str) -> Error {
        let name = &self.inner.name;
        let detail = match why {
            "missing" => format!(
                "group {name:?} does not exist on the server (never created, deleted, expired, \
                 or lost: a restart without persistence, FLUSHALL, eviction)"
            ),
            "replaced" => format!(
                "group {name:?} was created anew since this handle saw it: the state it knew was lost"
            ),
            "damaged" => format!(
                "keys of group {name:?} are missing (evicted or deleted): who is out can no longer be told"
            ),
            "went back" => format!(
                "the state of group {name:?} went back in time (restored from an older snapshot?)"
            ),
            "member record missing" => format!(
                "group {name:?} lost the record of a member that joined it (restored from an \
                 older snapshot, failed over to a replica that missed writes, or evicted)"
            ),
            "deleted" => format!("group {name:?} was deleted"),
            "outcome unknown" => format!(
                "group {name:?} moved on past a later reset while this waiter was away, and the \
                 log entries that told how its round ended were trimmed: it may have been reset"
            ),
            other => format!("group {name:?}: {other}"),
        };
        Error::GroupLost { detail }
    }

    /// Runs a `done` script. With [`Options::replicas`], on a connection of its own (`WAIT`
    /// blocks its connection and applies to that connection's writes), then waits for the
    /// replicas.
    pub(crate) async fn invoke_done(
        &self,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
    ) -> Result<Vec<String>> {
        let Some((n, timeout)) = self.inner.options.replicas else {
            return self.invoke(script, expect, args).await;
        };
        let mut conn = self.waiter_conn().await?;
        let reply = self.run_on(&mut conn, script, expect, args).await?;
        let acked: u64 = redis::cmd("WAIT")
            .arg(n)
            .arg(timeout.as_millis() as u64)
            .query_async(&mut conn)
            .await?;
        self.return_waiter_conn(conn);
        if acked < u64::from(n) {
            return Err(Error::NotReplicated {
                acked,
                wanted: u64::from(n),
            });
        }
        Ok(reply)
    }

    /// Runs an idempotent script, retrying connection failures for
    /// [`Options::retry_for`]: the manager reconnects in the background meanwhile.
    pub(crate) async fn invoke_retrying(
        &self,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
    ) -> Result<Vec<String>> {
        self.retrying(script, expect, args, false).await
    }

    /// As [`invoke_retrying`](Self::invoke_retrying), through [`invoke_done`](Self::invoke_done).
    pub(crate) async fn invoke_done_retrying(
        &self,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
    ) -> Result<Vec<String>> {
        self.retrying(script, expect, args, true).await
    }

    async fn retrying(
        &self,
        script: &Script,
        expect: Expect<'_>,
        args: &[&str],
        done: bool,
    ) -> Result<Vec<String>> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(20);
        loop {
            let attempt = if done {
                self.invoke_done(script, expect, args).await
            } else {
                self.invoke(script, expect, args).await
            };
            match attempt {
                Err(e) if e.is_retryable() && start.elapsed() < self.inner.options.retry_for => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    async fn observe_retrying(&self) -> Result<Observation> {
        let reply = self
            .invoke_retrying(&scripts::OBSERVE_SCRIPT, Expect::Handle, &[])
            .await?;
        parse_observation(&reply)
    }

    /// Adds `n` units to the count, like Go's `Add(n)`. Members that [`join`](Self::join)
    /// later claim these units first, so a coordinator can reserve one unit per worker before
    /// any worker starts. If the count was zero, this starts a new round.
    ///
    /// Not retried after a lost connection (it is not idempotent): on
    /// [`Error::Connection`] the add may or may not have happened; read [`count`](Self::count).
    ///
    /// Units added here hold no lease until a member claims them: a worker that dies
    /// before it [`join`](Self::join)s leaves its unit outstanding, and only a timed wait
    /// ([`wait_timeout`](Self::wait_timeout)) bounds that. Members that join without a
    /// reservation add their own unit, leased from the start.
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] if `n` is zero or the count would pass 2^53 - 1;
    /// [`Error::LostMember`] if the current round has failed (call [`reset`](Self::reset));
    /// [`Error::GroupLost`] if the group this handle knew is gone; connection and auth errors.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after sending, the add may have happened.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// group.add(2).await?;
    /// group.done().await?;
    /// group.done().await?;
    /// group.wait().await?; // returns at once: the count is zero
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, n: u64) -> Result<()> {
        if n == 0 {
            return Err(Error::BadInput("add(0)".into()));
        }
        if n > scripts::MAX_COUNT {
            return Err(too_large(n));
        }
        let delta = n.to_string();
        let reply = self
            .invoke(&scripts::ADD_SCRIPT, Expect::Handle, &[&delta])
            .await?;
        match field(&reply, 0)? {
            "ok" => Ok(()),
            "failed" => Err(Error::LostMember {
                id: field(&reply, 1)?.to_owned(),
            }),
            "toolarge" => Err(too_large(n)),
            other => Err(Error::Protocol(format!("add replied {other:?}"))),
        }
    }

    /// Takes back one unit of [`add`](Self::add), like Go's `Done()`. Not retried: for
    /// exactly-once counting across lost replies use [`done_once`](Self::done_once), or a
    /// [`Member`].
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] if no unit added by `add` is outstanding (Go panics on a negative
    /// counter; this is the same misuse, reported); [`Error::NotReplicated`] with
    /// [`Options::replicas`] (the done is recorded on the primary); [`Error::GroupLost`];
    /// connection and auth errors.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after sending, the done may have happened.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// group.add(1).await?;
    /// group.done().await?;
    /// # Ok(()) }
    /// ```
    pub async fn done(&self) -> Result<()> {
        let reply = self
            .invoke_done(&scripts::DONE_SCRIPT, Expect::Handle, &[])
            .await?;
        match field(&reply, 0)? {
            "ok" => Ok(()),
            "negative" => Err(negative()),
            other => Err(Error::Protocol(format!("done replied {other:?}"))),
        }
    }

    /// Takes back one unit of [`add`](Self::add), exactly once: the `done` is recorded under
    /// `key` (unique among this round's `done_once` calls: a task id, a shard name), so a
    /// call whose reply was lost to a dropped connection is retried for
    /// [`Options::retry_for`] and counts once. For callers without a [`Member`] (no lease:
    /// a worker that dies before this leaves its unit outstanding, as with [`done`](Self::done)).
    ///
    /// It first reads the current round (one more round trip than `done`), which is the round
    /// the unit is counted in: a unit of a round that ended before the call is not counted in
    /// the next.
    ///
    /// # Errors
    ///
    /// [`Error::BadInput`] if no unit added by `add` is outstanding, if `key` is empty or
    /// longer than 256 bytes, or if `key` was already used in this round (by another call, not
    /// a retry); [`Error::RoundReset`] if the round was reset before this counted;
    /// [`Error::StaleRound`] if the round ended before the first attempt; [`Error::GroupLost`];
    /// [`Error::NotReplicated`] with [`Options::replicas`]; connection errors once the retry
    /// window has passed (the `done` may or may not have landed: call again with the same key
    /// to find out, it will not count twice).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, but safe to call again with the same key: a dropped call's `done`
    /// may have landed, and the next call with that key counts it at most once.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// group.add(2).await?;
    /// for shard in ["shard-0", "shard-1"] {
    ///     // ... the work of `shard` ...
    ///     group.done_once(shard).await?; // retried on a lost reply, counted once
    /// }
    /// group.wait().await?;
    /// # Ok(()) }
    /// ```
    pub async fn done_once(&self, key: &str) -> Result<()> {
        check_id("done_once key", key)?;
        let obs = self.observe_retrying().await?;
        let round = obs.snapshot.round.to_string();
        let inc = self.incarnation().unwrap_or_default();
        let start = Instant::now();
        let mut backoff = Duration::from_millis(20);
        let mut retry = "0";
        let reply = loop {
            let attempt = self
                .invoke_done(
                    &scripts::DONE_ONCE_SCRIPT,
                    Expect::Exactly(&inc),
                    &[key, &round, retry],
                )
                .await;
            match attempt {
                Err(e) if e.is_retryable() && start.elapsed() < self.inner.options.retry_for => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    retry = "1";
                }
                other => break other?,
            }
        };
        match field(&reply, 0)? {
            "ok" | "again" => Ok(()),
            "negative" => Err(negative()),
            "used" => Err(Error::BadInput(format!(
                "done_once key {key:?} was already used in round {round}"
            ))),
            "reset" => Err(Error::RoundReset {
                round: obs.snapshot.round,
            }),
            "stale" => Err(Error::StaleRound {
                member: obs.snapshot.round,
                current: parse_u64(field(&reply, 1)?)?,
            }),
            other => Err(Error::Protocol(format!("done_once replied {other:?}"))),
        }
    }

    /// Joins the group as a member with a generated id, claiming a unit reserved by
    /// [`add`](Self::add) (see [`join_as`](Self::join_as)).
    ///
    /// # Errors
    ///
    /// As [`join_as`](Self::join_as).
    ///
    /// # Cancel safety
    ///
    /// As [`join_as`](Self::join_as).
    pub async fn join(&self) -> Result<Member> {
        self.join_with(&generate_id("m"), JoinMode::Claim).await
    }

    /// Joins the group as the member `id`, claiming a unit that [`add`](Self::add) reserved
    /// in the current round: the usual shape, a coordinator that adds one unit per worker and
    /// workers that claim them. Starts the member's lease, renewed in the background every
    /// third of the lease until `done` or drop.
    ///
    /// `id` names the member in [`Error::LostMember`] and must be unique within a round: a
    /// second join with the same id (another process, or the same id given twice) is refused
    /// with [`Error::DuplicateMember`]; only this call's own retries, after a lost reply, are
    /// recognised as itself. Ids may be reused from round to round.
    ///
    /// Must be called inside a tokio runtime (the renewal is a tokio task).
    ///
    /// # Errors
    ///
    /// [`Error::NothingToClaim`] if no reserved unit is left in the current round (the
    /// coordinator has not added yet: join again later, or use
    /// [`join_adding_as`](Self::join_adding_as)); [`Error::DuplicateMember`];
    /// [`Error::LostMember`] if the round has failed, or if this id was already reported lost
    /// in it; [`Error::BadInput`] for an empty id or one longer than 256 bytes;
    /// [`Error::GroupLost`]; connection errors once [`Options::retry_for`] has passed.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after the join landed, the member counts
    /// and, with nobody to renew or finish it, is lost when its lease ends.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// let member = group.join_as("worker-3").await?;
    /// // ... the work ...
    /// member.done().await?;
    /// # Ok(()) }
    /// ```
    pub async fn join_as(&self, id: &str) -> Result<Member> {
        self.join_with(id, JoinMode::Claim).await
    }

    /// Joins the group with a generated id, adding a unit of its own (see
    /// [`join_adding_as`](Self::join_adding_as)).
    ///
    /// # Errors
    ///
    /// As [`join_adding_as`](Self::join_adding_as).
    ///
    /// # Cancel safety
    ///
    /// As [`join_as`](Self::join_as).
    pub async fn join_adding(&self) -> Result<Member> {
        self.join_with(&generate_id("m"), JoinMode::Add).await
    }

    /// Joins the group as the member `id`, adding a unit of its own to the count (Go's
    /// `wg.Add(1)` done by the worker itself): for workers that enrol themselves, with no
    /// coordinator reserving units. If the current round is over (count zero), this starts the
    /// next round. Otherwise as [`join_as`](Self::join_as).
    ///
    /// A waiter counts only the members that have joined when the count reaches zero: start
    /// the wait after the workers joined, or reserve units with [`add`](Self::add) instead.
    ///
    /// # Errors
    ///
    /// As [`join_as`](Self::join_as), without [`Error::NothingToClaim`]; [`Error::BadInput`]
    /// if the count would pass 2^53 - 1.
    ///
    /// # Cancel safety
    ///
    /// As [`join_as`](Self::join_as).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// let member = group.join_adding_as("shard-7").await?;
    /// // ... the work ...
    /// member.done().await?;
    /// # Ok(()) }
    /// ```
    pub async fn join_adding_as(&self, id: &str) -> Result<Member> {
        self.join_with(id, JoinMode::Add).await
    }

    async fn join_with(&self, id: &str, mode: JoinMode) -> Result<Member> {
        check_id("member id", id)?;
        let lease = self.inner.options.lease.as_millis().to_string();
        // The token tells this join's retries from another join with the same id.
        let token = generate_id("t");
        let mode_arg = match mode {
            JoinMode::Claim => "claim",
            JoinMode::Add => "add",
        };
        // JOIN is idempotent per id and token, so a join whose reply was lost is retried
        // safely.
        let reply = self
            .invoke_retrying(
                &scripts::JOIN_SCRIPT,
                Expect::Handle,
                &[id, &lease, &token, mode_arg],
            )
            .await?;
        match field(&reply, 0)? {
            "ok" => {
                let round = parse_u64(field(&reply, 1)?)?;
                let inc = self.incarnation().unwrap_or_default();
                Ok(Member::start(
                    self.clone(),
                    id.to_owned(),
                    round,
                    inc,
                    token,
                ))
            }
            "failed" | "lost" => Err(Error::LostMember {
                id: field(&reply, 1)?.to_owned(),
            }),
            "duplicate" => Err(Error::DuplicateMember { id: id.to_owned() }),
            "unreserved" => Err(Error::NothingToClaim {
                round: parse_u64(field(&reply, 1)?)?,
            }),
            "toolarge" => Err(too_large(1)),
            other => Err(Error::Protocol(format!("join replied {other:?}"))),
        }
    }

    /// The outstanding count, read by the server after applying any expired leases.
    ///
    /// # Errors
    ///
    /// Connection and auth errors once [`Options::retry_for`] has passed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// println!("{} to go", group.count().await?);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self) -> Result<u64> {
        Ok(self.status().await?.count)
    }

    /// Round, count and lost member, read in one atomic step.
    ///
    /// # Errors
    ///
    /// As [`count`](Self::count); [`Error::GroupLost`] if the group does not exist (or is not
    /// the one this handle knew).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn status(&self) -> Result<Status> {
        let s = self.observe_retrying().await?.snapshot;
        Ok(Status {
            round: s.round,
            count: s.count.max(0) as u64,
            lost: (!s.failed.is_empty()).then_some(s.failed),
        })
    }

    /// Starts a new round with count zero, forgetting the old round's members and failure.
    /// Members of the old round can no longer count ([`Error::StaleRound`]); if the old round
    /// was still pending (or failed), its waiters get [`Error::RoundReset`], never `Ok`.
    /// Returns the new round.
    ///
    /// Also the way on after [`Error::GroupLost`]: it creates the group if it is missing (or
    /// repairs one whose keys are incomplete), and this handle adopts the incarnation it
    /// finds.
    ///
    /// # Errors
    ///
    /// Connection and auth errors (not retried: a retry would skip a round).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the reset may have happened.
    pub async fn reset(&self) -> Result<u64> {
        let reply = self
            .invoke(&scripts::RESET_SCRIPT, Expect::Adopt, &[])
            .await?;
        parse_u64(field(&reply, 1)?)
    }

    /// Deletes the group's keys now, rather than when their TTL ends. Waiters of the group
    /// (in any process) get [`Error::GroupLost`] at once, and so do members' `done`s; the
    /// next `add` or join creates the group anew. Deleting a group that does not exist is
    /// not an error.
    ///
    /// # Errors
    ///
    /// Connection and auth errors (retried for [`Options::retry_for`]: deleting is
    /// idempotent).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in effect: the delete happened or not, and calling it again is harmless.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// group.add(1).await?;
    /// group.done().await?;
    /// group.wait().await?;
    /// group.delete().await?; // nothing left on the server
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self) -> Result<()> {
        match self
            .invoke_retrying(&scripts::DELETE_SCRIPT, Expect::Adopt, &[])
            .await
        {
            Ok(_) | Err(Error::GroupLost { .. }) => {
                *self
                    .inner
                    .incarnation
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Waits until the count of the round current at the call reaches zero (or a later
    /// round starts, which means it did).
    ///
    /// Untimed by choice of the caller; it cannot hang because a member died: a member that
    /// stops renewing is declared lost by the server when its lease ends, and under the
    /// default policy this returns [`Error::LostMember`]. (Units from [`add`](Self::add) that
    /// no member has claimed, and anonymous units, have no lease: they end only with
    /// [`done`](Self::done).) Lost connections are retried for [`Options::retry_for`].
    ///
    /// # Errors
    ///
    /// [`Error::LostMember`] (default policy), [`Error::RoundReset`] if the round was reset
    /// before its count reached zero, connection and auth errors.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: waiting changes nothing on the server; dropping the future only closes
    /// its blocking read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// match group.wait().await {
    ///     Ok(()) => println!("all done"),
    ///     Err(groupwait_redis::Error::LostMember { id }) => println!("{id} died"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<()> {
        self.wait_until(None).await
    }

    /// As [`wait`](Self::wait), but gives up with [`Error::TimedOut`] once `timeout` has
    /// passed (never before: a block that ends early is followed by a re-check).
    ///
    /// # Errors
    ///
    /// [`Error::TimedOut`], and as [`wait`](Self::wait).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// use std::time::Duration;
    /// if let Err(groupwait_redis::Error::TimedOut) = group.wait_timeout(Duration::from_secs(1)).await {
    ///     println!("{} still running", group.count().await?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.wait_until(Some(Instant::now() + timeout)).await
    }

    pub(crate) fn log_key(&self) -> &str {
        &self.inner.keys[3]
    }

    /// A connection for one waiter's blocking reads, from the pool or new.
    pub(crate) async fn waiter_conn(&self) -> Result<WaitConn> {
        let pooled = self.inner.waiters.lock().ok().and_then(|mut v| v.pop());
        match pooled {
            Some(c) => Ok(c),
            None => self.new_waiter_conn().await,
        }
    }

    pub(crate) async fn new_waiter_conn(&self) -> Result<WaitConn> {
        let o = &self.inner.options;
        self.inner
            .backend
            .wait_conn(o, MAX_BLOCK + o.response_timeout)
            .await
    }

    pub(crate) fn return_waiter_conn(&self, conn: WaitConn) {
        if let Ok(mut v) = self.inner.waiters.lock() {
            if v.len() < 8 {
                v.push(conn);
            }
        }
    }

    /// `observe` on a given connection (the waiter's own), expecting `inc` if given, and
    /// returning the incarnation found.
    pub(crate) async fn observe_on(
        &self,
        conn: &mut WaitConn,
        inc: Option<&str>,
    ) -> Result<(Observation, String)> {
        let expect = match inc {
            Some(i) => Expect::Exactly(i),
            None => Expect::Handle,
        };
        let reply = self
            .run_on(conn, &scripts::OBSERVE_SCRIPT, expect, &[])
            .await?;
        let found = match inc {
            Some(i) => i.to_owned(),
            None => self.incarnation().unwrap_or_default(),
        };
        Ok((parse_observation(&reply)?, found))
    }
}

fn parse_observation(reply: &[String]) -> Result<Observation> {
    if field(reply, 0)? != "ok" {
        return Err(Error::Protocol(format!("observe replied {reply:?}")));
    }
    Ok(Observation {
        snapshot: Snapshot {
            round: parse_u64(field(reply, 1)?)?,
            count: parse_i64(field(reply, 2)?)?,
            failed: field(reply, 3)?.to_owned(),
            next_lease_ms: parse_i64(field(reply, 5)?)?,
            abandoned: parse_optional_u64(field(reply, 7)?)?,
        },
        last: field(reply, 4)?.to_owned(),
        policy: field(reply, 6)?.to_owned(),
    })
}

pub(crate) fn parse_snapshot_fields(
    round: &str,
    count: &str,
    failed: String,
    next: &str,
    abandoned: &str,
) -> Result<Snapshot> {
    Ok(Snapshot {
        round: parse_u64(round)?,
        count: parse_i64(count)?,
        failed,
        next_lease_ms: parse_i64(next)?,
        abandoned: parse_optional_u64(abandoned)?,
    })
}

fn parse_optional_u64(s: &str) -> Result<Option<u64>> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse_u64(s).map(Some)
    }
}

/// How a join counts: claiming a unit that `add` reserved, or adding its own.
#[derive(Clone, Copy)]
enum JoinMode {
    Claim,
    Add,
}

fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_NAME_LEN {
        return Err(Error::BadInput(format!(
            "{what} {id:?} must be non-empty and at most {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

fn negative() -> Error {
    Error::BadInput("done without a matching add (the counter would go negative)".into())
}

fn too_large(n: u64) -> Error {
    Error::BadInput(format!(
        "adding {n} would take the count past 2^53 - 1 ({})",
        scripts::MAX_COUNT
    ))
}

/// An id unique enough across hosts (members, join tokens, incarnations): process id, time
/// and a per-process counter, mixed by the std hasher's random keys, after `prefix`.
pub(crate) fn generate_id(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{prefix}-{}-{:016x}", std::process::id(), h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_differ() {
        let a = generate_id("m");
        let b = generate_id("m");
        assert_ne!(a, b);
        assert!(a.starts_with("m-"));
    }

    #[test]
    fn observation_parses() {
        let reply: Vec<String> = ["ok", "3", "2", "", "1-0", "-1", "fail", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse_observation(&reply).unwrap();
        assert_eq!(o.snapshot.round, 3);
        assert_eq!(o.snapshot.count, 2);
        assert_eq!(o.last, "1-0");
        assert_eq!(o.policy, "fail");
        assert_eq!(o.snapshot.abandoned, Some(2));
    }

    #[test]
    fn short_reply_is_a_protocol_error() {
        let reply = vec!["ok".to_string()];
        assert!(matches!(parse_observation(&reply), Err(Error::Protocol(_))));
    }

    #[test]
    fn group_is_send_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Group>();
    }
}
