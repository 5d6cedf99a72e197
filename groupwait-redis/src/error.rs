//! The one error type, and the mapping from the client's errors to it.

use std::fmt;

/// What went wrong. Every network failure is one of these, never a panic.
///
/// `#[non_exhaustive]`: match with a `_` arm, so new kinds can be added.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server could not be reached, the connection dropped, or a reply did not arrive in
    /// time, and the bounded retry window (see [`Options::retry_for`](crate::Options::retry_for))
    /// ran out.
    Connection(redis::RedisError),
    /// The server refused the credentials (wrong user or password) or the ACL user lacks a
    /// permission the group needs (`NOPERM`: commands `EVALSHA`, `EVAL`, `SCRIPT`, `XREAD`,
    /// `PING` and the group's keys `gw:{name}:*`).
    Auth(redis::RedisError),
    /// A member's lease ended without `done` (its process died, its network was cut, or its
    /// handle was dropped), and the group's policy is [`LostPolicy::Fail`](crate::LostPolicy::Fail).
    /// Waiters of that round get this error; the round stays failed until
    /// [`Group::reset`](crate::Group::reset).
    LostMember {
        /// The lost member's id (see [`Member::id`](crate::Member::id)).
        id: String,
    },
    /// A timed wait reached its timeout with the group's count still above zero.
    TimedOut,
    /// The round being waited for was ended by [`Group::reset`](crate::Group::reset) before
    /// its count reached zero.
    RoundReset {
        /// The round that was reset.
        round: u64,
    },
    /// The `done` was recorded on the primary, but fewer replicas than
    /// [`Options::replicas`](crate::Options::replicas) asked for acknowledged it in time: a
    /// failover now could lose it.
    NotReplicated {
        /// Replicas that acknowledged.
        acked: u64,
        /// Replicas asked for.
        wanted: u64,
    },
    /// The member belongs to a round that has ended: it cannot count in the current one.
    StaleRound {
        /// The member's round.
        member: u64,
        /// The group's current round.
        current: u64,
    },
    /// Bad input: a malformed URL, an empty or too long group name or member id, a zero delta
    /// or a count past 2^53 - 1, a lease too short, a `done` without a matching `add`, a
    /// `done_once` key used twice in a round, or a group opened with a policy other than the
    /// one it was created with.
    BadInput(String),
    /// The group's state on the server is not the one this handle, member or waiter knew:
    /// it is missing (never created, expired, deleted, or lost by a restart without
    /// persistence, `FLUSHALL` or eviction), was recreated since (another incarnation), went
    /// back in time (a restore from an older snapshot), or is incomplete (some of its keys
    /// evicted). Whatever the group counted may be gone, so nothing can be reported as done.
    ///
    /// A handle that got this keeps getting it; [`Group::reset`](crate::Group::reset) starts
    /// over (creating the group if it is missing) and the handle adopts the new incarnation,
    /// as does a handle opened anew.
    GroupLost {
        /// What was found, in words.
        detail: String,
    },
    /// Another join holds this member id in the current round (a second process with the
    /// same id, or an id reused within a round). Only a retry of the same join, after a lost
    /// reply, is recognised as itself.
    DuplicateMember {
        /// The id in use.
        id: String,
    },
    /// A claiming join ([`Group::join_as`](crate::Group::join_as)) found no unit reserved by
    /// [`Group::add`](crate::Group::add) in the current round: the coordinator has not added
    /// yet (or every unit is claimed). Join again after the `add`, or use
    /// [`Group::join_adding_as`](crate::Group::join_adding_as) to add a unit of its own.
    NothingToClaim {
        /// The group's current round.
        round: u64,
    },
    /// The server answered something this crate did not expect: a script error, a key of the
    /// wrong type (`WRONGTYPE`, another program uses the group's key names), a malformed reply.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connection(e) => write!(f, "redis connection failed: {e}"),
            Error::Auth(e) => write!(f, "redis refused the credentials or a permission: {e}"),
            Error::LostMember { id } => {
                write!(f, "member {id} was lost: its lease ended without done")
            }
            Error::TimedOut => f.write_str("timed out waiting for the group"),
            Error::NotReplicated { acked, wanted } => write!(
                f,
                "done recorded on the primary but acknowledged by {acked} of {wanted} replicas"
            ),
            Error::RoundReset { round } => {
                write!(f, "round {round} was reset before its count reached zero")
            }
            Error::StaleRound { member, current } => write!(
                f,
                "member of round {member} cannot count in round {current}"
            ),
            Error::BadInput(s) => write!(f, "bad input: {s}"),
            Error::GroupLost { detail } => write!(f, "group state lost: {detail}"),
            Error::DuplicateMember { id } => {
                write!(f, "member id {id} is held by another join in this round")
            }
            Error::NothingToClaim { round } => write!(
                f,
                "no unit reserved by add is left to claim in round {round}"
            ),
            Error::Protocol(s) => write!(f, "unexpected reply from redis: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connection(e) | Error::Auth(e) => Some(e),
            _ => None,
        }
    }
}

impl Error {
    /// Whether the operation may succeed if tried again on a (re)connected client.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Error::Connection(e) => !matches!(
                e.kind(),
                redis::ErrorKind::InvalidClientConfig | redis::ErrorKind::Parse
            ),
            _ => false,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        use redis::{ErrorKind, ServerErrorKind};
        match e.kind() {
            ErrorKind::AuthenticationFailed | ErrorKind::Server(ServerErrorKind::NoPerm) => {
                Error::Auth(e)
            }
            ErrorKind::InvalidClientConfig => Error::BadInput(e.to_string()),
            _ if e.code() == Some("WRONGPASS") || e.code() == Some("NOAUTH") => Error::Auth(e),
            _ if e.code() == Some("WRONGTYPE") => {
                Error::Protocol(format!("a group key has the wrong type: {e}"))
            }
            _ if e.is_io_error()
                || e.is_timeout()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || matches!(
                    e.kind(),
                    ErrorKind::Server(ServerErrorKind::BusyLoading)
                        | ErrorKind::Server(ServerErrorKind::TryAgain)
                        | ErrorKind::Server(ServerErrorKind::MasterDown)
                ) =>
            {
                Error::Connection(e)
            }
            _ => Error::Protocol(e.to_string()),
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrongtype_is_a_protocol_error() {
        let e = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "x",
        ));
        assert!(matches!(Error::from(e), Error::Protocol(_)));
    }

    #[test]
    fn lost_member_names_the_member() {
        let e = Error::LostMember { id: "w-7".into() };
        assert!(e.to_string().contains("w-7"));
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
    }
}
