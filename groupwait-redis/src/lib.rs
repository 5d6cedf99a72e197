//! One wait group across processes and hosts, on Redis, that survives crashes.
//!
//! A coordinator waits; workers on other hosts join as [`Member`]s and call `done`. The
//! group is a few Redis keys changed only by atomic Lua scripts, and a Redis stream that
//! waiters block on. It is built for the ways the usual distributed latches hang or lie:
//!
//! * **A crashed worker never hangs the waiter.** Each member holds a lease renewed in the
//!   background. When a member stops renewing (killed, host gone, network cut) or its handle
//!   is dropped without `done` (an early return, a panic), the server ends its lease and
//!   the group applies its [`LostPolicy`]: by default every waiter gets
//!   [`Error::LostMember`] naming the member; or, by choice, the member counts as done.
//! * **No lost wake-up, no polling.** A waiter reads the state and a position in the log in
//!   one atomic step, then blocks (`XREAD BLOCK`) from that position: a change made in
//!   between is in the log after it. Lease expiry is decided by the server's clock when the
//!   waiter wakes at the earliest lease deadline, not by a poll per member.
//! * **Lost state is never success.** A group gets an incarnation id when it is created;
//!   every handle, member and waiter learns it and checks it. A waiter returns `Ok` only after
//!   seeing its own round of its own incarnation reach zero: a group that is missing,
//!   recreated, or older than what was seen is [`Error::GroupLost`] (see "What can go wrong").
//! * **A retried `done` counts once.** A member's `done` is recorded by member id, the join's
//!   token and round; a retry after a lost reply finds it recorded. Without a member,
//!   [`Group::done_once`] does the same under a key the caller chooses.
//! * **One id, one worker.** [`Group::join_as`] claims a unit that `add` reserved
//!   ([`Error::NothingToClaim`] before the coordinator's `add`); [`Group::join_adding_as`]
//!   adds its own. A second join with an id held in the round is [`Error::DuplicateMember`].
//! * **Rounds.** A group is reusable: when the count is zero, the next `add` or `join`
//!   starts a new round, and a member of an old round cannot count in it
//!   ([`Error::StaleRound`]).
//! * **Nothing left behind.** Every key carries a TTL (24 h by default) kept fresh while the
//!   group is used, so an abandoned group disappears within one TTL; a finished round keeps
//!   its member records 10 minutes; [`Group::delete`] removes a group at once.
//! * **Bounded.** Every network call has a timeout; errors are typed ([`Error`]), never a
//!   panic.
//!
//! # Features
//!
//! No feature is on by default: without one, a `rediss://` URL is refused with
//! [`Error::BadInput`], never tried in clear.
//!
//! * `tls-rustls-ring` or `tls-rustls-aws-lc-rs`: `rediss://` URLs, with rustls and the
//!   named crypto backend (`ring` is the lighter build; `aws-lc-rs` builds a C library). If
//!   the application has not installed a process-level rustls provider when a TLS group
//!   opens, the group installs this backend's (both features on: `aws-lc-rs`); one the
//!   application installed is kept. Either way, a second rustls backend enabled elsewhere in
//!   the application cannot make the connect panic. See `Options::tls_root_certificate` for
//!   a private CA.
//! * `tls-rustls`: `rediss://` with the provider the application installs
//!   (`rustls::crypto::CryptoProvider::install_default`) before the group opens; without
//!   one, [`Error::BadInput`] says so.
//! * `cluster`: `Group::open_cluster`, a group on a Redis Cluster (the group's keys share
//!   one hash tag, so one slot).
//!
//! # Examples
//!
//! ```no_run
//! use groupwait_redis::{Error, Group};
//!
//! # async fn demo() -> Result<(), Error> {
//! // Coordinator: reserve a unit per worker, then wait.
//! let group = Group::open("redis://:password@127.0.0.1:6379/", "shards").await?;
//! group.add(2).await?;
//!
//! // Each worker, anywhere (here, two tasks):
//! for shard in 0..2 {
//!     let group = group.clone();
//!     tokio::spawn(async move {
//!         let member = group.join_as(&format!("shard-{shard}")).await?;
//!         // ... the work ...
//!         member.done().await
//!     });
//! }
//!
//! match group.wait().await {
//!     Ok(()) => println!("all shards done"),
//!     Err(Error::LostMember { id }) => eprintln!("{id} died; its shard must be redone"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Blocking code uses [`blocking::Group`], the same API without `.await`.
//!
//! # From Go's `sync.WaitGroup`
//!
//! | Go | here |
//! |---|---|
//! | `wg.Add(n)` | [`Group::add`]`(n)` (reserves units that members claim) |
//! | `wg.Done()` | [`Group::done`] (anonymous), or [`Member::done`] (exactly once, leased) |
//! | `wg.Wait()` | [`Group::wait`], [`Group::wait_timeout`] |
//! | negative counter panic | [`Error::BadInput`] |
//! | a retried `Done()` counts twice | [`Group::done_once`]`(key)` counts once |
//! | a goroutine that never calls `Done` hangs `Wait` | its lease ends: [`Error::LostMember`] |
//!
//! # Compared with
//!
//! Redisson's `RCountDownLatch` wakes waiters by pub/sub (a message lost on reconnect or
//! failover leaves a waiter asleep) and counts a retried count-down twice; a crashed
//! worker blocks an untimed `await` forever. etcd's barriers bind members to leases like
//! this crate, and would be the better engine where linearizable writes across failover
//! matter more than running on the Redis you already have (see DESIGN.md).
//!
//! # What can go wrong
//!
//! Redis can forget: each fault below is a typed error for whoever meets it, never `Ok` for a
//! waiter and never a hang. Each is tested against a real `redis-server` (the repository's
//! `examples-redis/tests/faults.rs`).
//!
//! | fault | waiter | member's `done` | anonymous `done` / `done_once` |
//! |---|---|---|---|
//! | restart without persistence | [`Error::GroupLost`] | `GroupLost` | `GroupLost` |
//! | `FLUSHALL`, eviction (`allkeys-*`), keys' TTL ran out | `GroupLost` (at its next read of the state, within 10 s) | `GroupLost` | `GroupLost` |
//! | only the members or leases key evicted | `GroupLost` | `GroupLost` | `GroupLost` |
//! | restart from a snapshot of an earlier round | `GroupLost` | `GroupLost` | `GroupLost` |
//! | restart from a snapshot earlier in the round, or failover to a replica that missed writes | `GroupLost` (or [`Error::LostMember`] for a member it remembers that stopped renewing) | `GroupLost` | a `done` it undid is not noticed: use `wait_timeout`, members, or persistence |
//! | lost reply | - | retried, counted once | `done`: not retried; `done_once`: retried, counted once |
//! | one id in two processes | - | second join: [`Error::DuplicateMember`] | - |
//!
//! With `appendonly yes` and `appendfsync always` a restart loses nothing and the round goes
//! on; `Options::replicas` narrows what a failover can lose. After `GroupLost`, the handle
//! keeps reporting it: [`Group::reset`] starts over (the handle adopts the group as it is),
//! as does a handle opened anew.
//!
//! # Memory ordering, across hosts
//!
//! Each `done` (member or anonymous) is a server-side write that happens before the log
//! entry that completes the round; a `wait` returns only after reading that entry or a
//! state written after it. So whatever a worker wrote to Redis (or to any store it made
//! durable) before its `done` returned is visible to the coordinator after `wait` returns.
//!
//! # Failover
//!
//! Against a single Redis with `appendonly yes` and `appendfsync always`, a restart loses
//! no acknowledged `done`. With replicas, a failover can lose the last writes that had not
//! reached the promoted replica; see DESIGN.md.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blocking;
mod connection;
mod error;
#[cfg(test)]
mod fast_path_tests;
mod group;
mod member;
mod options;
mod outstanding;
mod scripts;
#[cfg(feature = "tls-rustls")]
mod tls;
mod wait;

pub use error::{Error, Result};
pub use group::{Group, Status};
pub use member::Member;
pub use options::{LostPolicy, Options};
pub use outstanding::{Outstanding, OutstandingMember};

#[cfg(test)]
mod tests {
    #[test]
    fn public_types_are_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Group>();
        check::<super::Member>();
        check::<super::blocking::Group>();
        check::<super::blocking::Member>();
        check::<super::Error>();
    }

    #[test]
    fn futures_are_send() {
        fn assert_send<F: std::future::Future + Send>(_: F) {}
        // Only type-checked: the closures are never called.
        let _ = |g: super::Group| assert_send(async move { g.wait().await });
        let _ = |g: super::Group| assert_send(async move { g.join().await?.done().await });
    }
}
