//! Who is still out: the members of the current round that hold a lease, and the units that
//! `add` reserved and nobody has claimed, for a coordinator whose wait has not returned.

use crate::error::{Error, Result};
use crate::group::{field, Expect, Group};
use crate::scripts;
use std::time::Duration;

/// The current round's outstanding work, read in one atomic step (after the server expired
/// any lease past its deadline). See [`Group::outstanding`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outstanding {
    /// The current round.
    pub round: u64,
    /// Outstanding units, as [`Status::count`](crate::Status::count).
    pub count: u64,
    /// Units reserved by [`Group::add`] that no member has claimed (and no anonymous `done`
    /// has taken back): work no member holds a lease for.
    pub unclaimed: u64,
    /// The members holding a lease, earliest lease end first.
    pub members: Vec<OutstandingMember>,
}

/// A member of the current round that has joined and not yet called `done`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutstandingMember {
    /// Its id, as given to (or made by) the join.
    pub id: String,
    /// How long ago it joined, by the server's clock (`None` for a member that joined before
    /// join times were kept).
    pub joined_ago: Option<Duration>,
    /// How long until its lease ends unless renewed. A member whose process died keeps its
    /// place here until then; one that renews is working (or at least alive).
    pub lease_left: Duration,
}

impl Group {
    /// Who is still out in the current round: each member that has joined and not called
    /// `done` (id, how long ago it joined, how long its lease has left), and the units that
    /// [`add`](Self::add) reserved and nobody claimed. For logging the stragglers when a timed
    /// wait runs out; O(members) on the server, so not for a hot loop.
    ///
    /// # Errors
    ///
    /// As [`status`](Self::status).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(group: groupwait_redis::Group) -> Result<(), groupwait_redis::Error> {
    /// use std::time::Duration;
    /// if let Err(groupwait_redis::Error::TimedOut) = group.wait_timeout(Duration::from_secs(60)).await {
    ///     let out = group.outstanding().await?;
    ///     for m in &out.members {
    ///         eprintln!("{} still out, lease ends in {:?}", m.id, m.lease_left);
    ///     }
    ///     eprintln!("{} units nobody claimed", out.unclaimed);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn outstanding(&self) -> Result<Outstanding> {
        let reply = self
            .invoke_retrying(&scripts::OUTSTANDING_SCRIPT, Expect::Handle, &[])
            .await?;
        parse(&reply)
    }
}

fn number(reply: &[String], i: usize) -> Result<i64> {
    let s = field(reply, i)?;
    s.parse::<f64>()
        .ok()
        .filter(|n| n.fract() == 0.0)
        .map(|n| n as i64)
        .ok_or_else(|| Error::Protocol(format!("expected a number, got {s:?}")))
}

fn parse(reply: &[String]) -> Result<Outstanding> {
    if field(reply, 0)? != "ok" || reply.len() < 5 || !(reply.len() - 5).is_multiple_of(3) {
        return Err(Error::Protocol(format!("outstanding replied {reply:?}")));
    }
    let now = number(reply, 4)?;
    let ms = |d: i64| Duration::from_millis(d.max(0) as u64);
    let members = (5..reply.len())
        .step_by(3)
        .map(|i| {
            let joined = field(reply, i + 2)?;
            Ok(OutstandingMember {
                id: field(reply, i)?.to_owned(),
                joined_ago: if joined.is_empty() {
                    None
                } else {
                    Some(ms(now - number(reply, i + 2)?))
                },
                lease_left: ms(number(reply, i + 1)? - now),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Outstanding {
        round: number(reply, 1)?.max(0) as u64,
        count: number(reply, 2)?.max(0) as u64,
        unclaimed: number(reply, 3)?.max(0) as u64,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn members_are_read_with_their_join_and_lease_times() {
        let r = reply(&[
            "ok", "3", "4", "1", "10000", "w1", "12500", "9000", "w2", "10300", "",
        ]);
        let out = parse(&r).unwrap();
        assert_eq!((out.round, out.count, out.unclaimed), (3, 4, 1));
        assert_eq!(out.members.len(), 2);
        assert_eq!(out.members[0].id, "w1");
        assert_eq!(out.members[0].joined_ago, Some(Duration::from_secs(1)));
        assert_eq!(out.members[0].lease_left, Duration::from_millis(2500));
        assert_eq!(out.members[1].joined_ago, None);
    }

    #[test]
    fn a_truncated_reply_is_a_protocol_error() {
        let r = reply(&["ok", "3", "4", "1", "10000", "w1", "12500"]);
        assert!(matches!(parse(&r), Err(Error::Protocol(_))));
    }
}
