//! A member: one unit of the count, held under a lease, finished exactly once.

use crate::error::{Error, Result};
use crate::group::{field, Expect, Group};
use crate::scripts;
use std::fmt;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A worker's place in a [`Group`], held under a lease that a background task renews.
///
/// * [`done`](Self::done) counts it once, even if retried after a lost reply (the server
///   records the member id and round).
/// * Dropping it without `done` (an early return, an unwinding panic) ends the lease at once:
///   the drop spawns the `leave` script on the tokio runtime that joined, and the group
///   applies its [`LostPolicy`](crate::LostPolicy) as if the lease had expired. If that task
///   cannot run (the runtime is shutting down, Redis is unreachable), the lease simply
///   expires on the server after at most one lease.
/// * A process that dies stops renewing; the server declares the member lost when the
///   lease ends.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), groupwait_redis::Error> {
/// let group = groupwait_redis::Group::open("redis://127.0.0.1/", "jobs").await?;
/// // Claims a unit the coordinator reserved with `add`.
/// let member = group.join_as("worker-1").await?;
/// // ... work; if this panics, the coordinator's wait fails naming "worker-1" ...
/// member.done().await?;
/// # Ok(()) }
/// ```
#[must_use = "a member dropped without `done` is reported lost"]
pub struct Member {
    group: Group,
    id: String,
    round: u64,
    /// The group's incarnation at the join: every call of the member expects it.
    inc: String,
    /// The join's token: the member record holds it, so that another join with the same id
    /// cannot act as this member.
    token: String,
    renewal: Option<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Handle>,
    finished: bool,
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("group", &self.group.name())
            .field("id", &self.id)
            .field("round", &self.round)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Member {
    pub(crate) fn start(
        group: Group,
        id: String,
        round: u64,
        inc: String,
        token: String,
    ) -> Member {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let renewal = runtime.as_ref().map(|rt| {
            rt.spawn(renew(
                group.clone(),
                Who {
                    id: id.clone(),
                    round,
                    inc: inc.clone(),
                    token: token.clone(),
                },
            ))
        });
        Member {
            group,
            id,
            round,
            inc,
            token,
            renewal,
            runtime,
            finished: false,
        }
    }

    /// The member's id, as named in [`Error::LostMember`].
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The round the member joined.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Counts this member done, exactly once: a reply lost to a dropped connection is
    /// retried for [`Options::retry_for`](crate::Options::retry_for), and the server counts a
    /// repeated `done` of the same member and round only once.
    ///
    /// # Errors
    ///
    /// [`Error::LostMember`] if the lease had already ended (the server declared the member
    /// lost before the done arrived); [`Error::StaleRound`] if the group has moved to a new
    /// round (it was reset); [`Error::GroupLost`] if the group's state was lost, replaced or
    /// went back in time since the join (the done is then not counted anywhere); [`Error::NotReplicated`] with [`Options::replicas`](crate::Options::replicas)
    /// if too few replicas acknowledged in time (the done is recorded on the primary);
    /// connection errors once the retry window has passed (the lease then runs out
    /// and the member is reported lost: the group never counts an unconfirmed done as done).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future drops the member, which is then reported lost
    /// unless the done had already landed (a `leave` after a landed `done` changes nothing).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// let member = group.join().await?;
    /// member.done().await?;
    /// # Ok(()) }
    /// ```
    pub async fn done(mut self) -> Result<()> {
        let round = self.round.to_string();
        let reply = self
            .group
            .invoke_done_retrying(
                &scripts::MEMBER_DONE_FAST_SCRIPT,
                Expect::Exactly(&self.inc),
                &[&self.id, &round, &self.token],
            )
            .await;
        if matches!(reply, Err(Error::GroupLost { .. })) {
            // Nothing left to leave or renew.
            self.stop_renewal();
            self.finished = true;
        }
        let reply = reply?;
        self.stop_renewal();
        self.finished = true;
        match field(&reply, 0)? {
            // `again`: an earlier attempt landed and only its reply was lost.
            "ok" | "again" => Ok(()),
            "lost" => Err(Error::LostMember {
                id: self.id.clone(),
            }),
            "stale" => Err(Error::StaleRound {
                member: self.round,
                current: field(&reply, 1)?.parse().unwrap_or(0),
            }),
            "duplicate" => Err(Error::DuplicateMember {
                id: self.id.clone(),
            }),
            "forgotten" => Err(self.group.gone("member record missing")),
            other => Err(Error::Protocol(format!("done replied {other:?}"))),
        }
    }

    fn stop_renewal(&mut self) {
        if let Some(h) = self.renewal.take() {
            h.abort();
        }
    }

    /// For the blocking wrapper: stop renewing and hand back what `leave` needs.
    pub(crate) fn disarm(mut self) -> Option<(Group, Who)> {
        self.stop_renewal();
        if self.finished {
            return None;
        }
        self.finished = true;
        Some((self.group.clone(), self.who()))
    }

    fn who(&self) -> Who {
        Who {
            id: self.id.clone(),
            round: self.round,
            inc: self.inc.clone(),
            token: self.token.clone(),
        }
    }
}

/// What names a member to the server: id, round, the group's incarnation and the join's
/// token.
pub(crate) struct Who {
    id: String,
    round: u64,
    inc: String,
    token: String,
}

/// Ends a member's lease now (the handle was dropped without `done`).
pub(crate) async fn leave(group: Group, who: Who) {
    let round = who.round.to_string();
    let _ = group
        .invoke(
            &scripts::LEAVE_SCRIPT,
            Expect::Exactly(&who.inc),
            &[&who.id, &round, &who.token],
        )
        .await;
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop_renewal();
        if self.finished {
            return;
        }
        // Best effort, without blocking inside a destructor that may run on an async task:
        // a background task on the runtime that joined. The server's lease is the backstop.
        if let Some(rt) = &self.runtime {
            rt.spawn(leave(self.group.clone(), self.who()));
        }
    }
}

/// Renews the lease every third of it until the member is finished, lost or stale, or the
/// group is gone.
async fn renew(group: Group, who: Who) {
    let lease = group.inner.options.lease;
    let every = lease / 3;
    let lease_ms = lease.as_millis().to_string();
    let round = who.round.to_string();
    let mut wait = every;
    loop {
        tokio::time::sleep(wait).await;
        match group
            .invoke(
                &scripts::RENEW_SCRIPT,
                Expect::Exactly(&who.inc),
                &[&who.id, &round, &who.token, &lease_ms],
            )
            .await
        {
            Ok(reply) if reply.first().map(String::as_str) == Some("ok") => wait = every,
            // Connection trouble: try again soon, the lease may still be saved.
            Err(e) if e.is_retryable() => wait = (every / 4).max(Duration::from_millis(20)),
            // `lost`, `stale`, `duplicate`, the group gone: nothing left to renew; `done`
            // will report it.
            _ => return,
        }
    }
}
