//! The waiter: read state and log position in one atomic step, then block on the log from
//! that position. No poll loop, no lost wake-up. A success only from its own round of its
//! own incarnation reaching zero: a state that is missing, of another incarnation, or
//! earlier than one already seen (round or log position) is [`Error::GroupLost`].
//!
//! ```text
//! observe (script: expire leases by server clock; read round, count, failed, last id)
//!    |-- decided? return
//!    v
//! XREAD BLOCK t STREAMS log <last id>     t = min(deadline, earliest lease + slack, 10 s)
//!    |-- entries: each carries the state after its change -> decided? return; else read on
//!    |-- nothing within t: back to observe (the server may now expire a lease)
//!    '-- connection lost: reconnect, back to observe (retry window bounded)
//! ```

use crate::connection::WaitConn;
use crate::error::{Error, Result};
use crate::group::{parse_snapshot_fields, Group, Snapshot, MAX_BLOCK};
use redis::streams::StreamReadReply;
use std::time::{Duration, Instant};

/// Extra time after a lease's deadline before asking the server, so that the server's clock
/// has passed it too (the delay we measured is relative, so only latency separates the two).
const LEASE_SLACK: Duration = Duration::from_millis(5);

/// What one state snapshot means for a waiter of round `mine`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Done,
    Lost(String),
    Reset(u64),
    WentBack,
    /// A later round whose state names a later abandoned round: the entries in between
    /// (trimmed, evicted) were the only record of how ours ended.
    Unknown,
    Pending,
}

pub(crate) fn judge(mine: u64, s: &Snapshot) -> Verdict {
    if s.round > mine {
        // A later round began: our count reached zero, or `reset` ended our round, which it
        // records in `abandoned`. The log is read in order, so the first entry after a
        // reset names our round even if more resets follow.
        // `abandoned` only grows, so one before ours says no reset ended a round since ours
        // began: ours reached zero. One after ours is never the first entry of a later round
        // read in order (that entry names our round's end itself): entries were lost between
        // (a finished round's log expired, the log capped, or evicted), and whether a reset
        // ended ours can no longer be told.
        return match s.abandoned {
            Some(a) if a == mine => Verdict::Reset(mine),
            Some(a) if a > mine => Verdict::Unknown,
            _ => Verdict::Done,
        };
    }
    if s.round < mine {
        // Only a state restored from before our round began can show an earlier round.
        return Verdict::WentBack;
    }
    if !s.failed.is_empty() {
        return Verdict::Lost(s.failed.clone());
    }
    if s.count <= 0 {
        return Verdict::Done;
    }
    Verdict::Pending
}

impl Group {
    fn verdict_to_result(&self, v: Verdict) -> Option<Result<()>> {
        match v {
            Verdict::Done => Some(Ok(())),
            Verdict::Lost(id) => Some(Err(Error::LostMember { id })),
            Verdict::Reset(round) => Some(Err(Error::RoundReset { round })),
            Verdict::WentBack => Some(Err(self.gone("went back"))),
            Verdict::Unknown => Some(Err(self.gone("outcome unknown"))),
            Verdict::Pending => None,
        }
    }

    /// A log entry of another incarnation (the group was deleted or created anew) ends the
    /// wait: the round it waited for is gone.
    /// So does an entry that marks the state damaged (a member it had forgotten came back).
    fn check_entry(&self, entry: &redis::streams::StreamId, inc: &str) -> Result<()> {
        let kind = entry.get::<String>("kind").unwrap_or_default();
        if kind == "damaged" {
            return Err(self.gone("member record missing"));
        }
        if entry.get::<String>("inc").unwrap_or_default() == inc {
            return Ok(());
        }
        Err(self.gone(if kind == "deleted" {
            "deleted"
        } else {
            "replaced"
        }))
    }
}

impl Group {
    pub(crate) async fn wait_until(&self, deadline: Option<Instant>) -> Result<()> {
        let mut conn = match self.waiter_conn().await {
            Ok(c) => c,
            Err(e) if e.is_retryable() => {
                self.reconnect_waiter(e, Instant::now(), deadline).await?
            }
            Err(e) => return Err(e),
        };
        let mut round = None;
        let result = self.wait_loop(&mut conn, &mut round, deadline).await;
        // (GroupLost too: the reply was read whole, so the connection is idle.)
        if matches!(
            result,
            Ok(())
                | Err(Error::TimedOut)
                | Err(Error::LostMember { .. })
                | Err(Error::GroupLost { .. })
        ) {
            // The connection is idle again (no read in flight): reuse it.
            self.return_waiter_conn(conn);
        }
        result
    }

    /// Reconnects a waiter, retrying until the retry window or the deadline ends.
    async fn reconnect_waiter(
        &self,
        first: Error,
        since: Instant,
        deadline: Option<Instant>,
    ) -> Result<WaitConn> {
        let mut last = first;
        let mut backoff = Duration::from_millis(20);
        loop {
            let now = Instant::now();
            let window_over = now.duration_since(since) >= self.inner.options.retry_for;
            if window_over || deadline.is_some_and(|d| now >= d) {
                return Err(last);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
            match self.new_waiter_conn().await {
                Ok(c) => return Ok(c),
                Err(e) if e.is_retryable() => last = e,
                Err(e) => return Err(e),
            }
        }
    }

    async fn wait_loop(
        &self,
        conn: &mut WaitConn,
        round: &mut Option<u64>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        // When the current run of connection failures began (None while healthy).
        let mut failing_since: Option<Instant> = None;
        // The log position read up to, kept across re-observes.
        let mut read_to: Option<String> = None;
        // The incarnation waited on: the handle's, or learned by the first observe.
        let mut inc: Option<String> = None;
        // The furthest log position seen: a later observe may never be behind it.
        let mut seen: Option<String> = None;
        'observe: loop {
            // Re-check 1 (atomic): state and log position together. Everything that
            // happens after this script is in the log after `last`, so the XREAD below
            // cannot miss the change that completes the round.
            let obs = match self.observe_on(conn, inc.as_deref()).await {
                Ok((o, found)) => {
                    inc = Some(found);
                    o
                }
                Err(e) if e.is_retryable() => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    *conn = self.reconnect_waiter(e, since, deadline).await?;
                    continue 'observe;
                }
                Err(e) => return Err(e),
            };
            failing_since = None;
            let inc_now = inc.as_deref().unwrap_or_default();
            let mine = *round.get_or_insert(obs.snapshot.round);
            // The log is append-only within an incarnation: a position behind one already
            // seen means the server restored an older copy of the group.
            if seen
                .as_deref()
                .is_some_and(|s| stream_id_before(&obs.last, s))
            {
                return Err(self.gone("went back"));
            }
            seen = Some(obs.last.clone());
            // Catch up, in order, on the entries between what this waiter had read and the
            // state just observed (after a reconnect or a block that ended), so that a change
            // in between (a failure, a reset) is judged as itself, not only by its aftermath.
            if let Some(from) = read_to.take().filter(|p| *p != obs.last) {
                match self.catch_up(conn, mine, inc_now, &from, &obs.last).await {
                    Ok(Some(r)) => return r,
                    Ok(None) => {}
                    Err(e) if e.is_retryable() => {
                        read_to = Some(from);
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        *conn = self.reconnect_waiter(e, since, deadline).await?;
                        continue 'observe;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let Some(r) = self.verdict_to_result(judge(mine, &obs.snapshot)) {
                return r;
            }
            let mut pos = obs.last;
            let mut lease_at = lease_instant(obs.snapshot.next_lease_ms);
            loop {
                let now = Instant::now();
                if deadline.is_some_and(|d| now >= d) {
                    // Re-checked just above (observe or the last entry): still pending.
                    return Err(Error::TimedOut);
                }
                let mut until = now + MAX_BLOCK;
                if let Some(d) = deadline {
                    until = until.min(d);
                }
                if let Some(l) = lease_at {
                    until = until.min(l + LEASE_SLACK);
                }
                let block_ms = until.saturating_duration_since(now).as_millis().max(1) as u64;
                let read: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
                    .arg("BLOCK")
                    .arg(block_ms)
                    .arg("COUNT")
                    .arg(1000)
                    .arg("STREAMS")
                    .arg(self.log_key())
                    .arg(&pos)
                    .query_async(conn)
                    .await;
                match read {
                    Ok(Some(reply)) => {
                        for entry in reply.keys.iter().flat_map(|k| k.ids.iter()) {
                            pos = entry.id.clone();
                            self.check_entry(entry, inc_now)?;
                            let snap = entry_snapshot(entry)?;
                            if let Some(r) = self.verdict_to_result(judge(mine, &snap)) {
                                return r;
                            }
                            lease_at = lease_instant(snap.next_lease_ms);
                        }
                        // Not decided: read on from the last entry seen (no gap).
                        seen = Some(pos.clone());
                    }
                    Ok(None) => {
                        // Re-check 2: the block ended with no entry: the deadline, an
                        // earliest lease deadline, or the 10 s bound. Ask the server, whose
                        // clock decides whether a lease has expired (and if so writes the
                        // `lost` entry and returns the failed state to us at once).
                        read_to = Some(pos);
                        continue 'observe;
                    }
                    Err(e) => {
                        let e = Error::from(e);
                        if !e.is_retryable() {
                            return Err(e);
                        }
                        // Re-check 3: after a reconnect, observe again: the position is
                        // still valid (the log is durable), but the server may have
                        // restarted and the state is the authority.
                        read_to = Some(pos);
                        let since = *failing_since.get_or_insert_with(Instant::now);
                        *conn = self.reconnect_waiter(e, since, deadline).await?;
                        continue 'observe;
                    }
                }
            }
        }
    }

    /// Judges, in order, the log entries after `from` up to `to` (inclusive).
    async fn catch_up(
        &self,
        conn: &mut WaitConn,
        mine: u64,
        inc: &str,
        from: &str,
        to: &str,
    ) -> Result<Option<Result<()>>> {
        let entries: Vec<redis::streams::StreamId> = redis::cmd("XRANGE")
            .arg(self.log_key())
            .arg(format!("({from}"))
            .arg(to)
            .arg("COUNT")
            .arg(1000)
            .query_async::<redis::streams::StreamRangeReply>(conn)
            .await?
            .ids;
        for entry in &entries {
            if let Err(e) = self.check_entry(entry, inc) {
                return Ok(Some(Err(e)));
            }
            if let Some(r) = self.verdict_to_result(judge(mine, &entry_snapshot(entry)?)) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

/// Whether stream id `a` (`ms-seq`) comes before `b`. An id that does not parse compares as
/// not before (the state, checked separately, decides).
fn stream_id_before(a: &str, b: &str) -> bool {
    fn parse(id: &str) -> Option<(u64, u64)> {
        let (ms, seq) = id.split_once('-')?;
        Some((ms.parse().ok()?, seq.parse().ok()?))
    }
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x < y)
}

fn lease_instant(next_lease_ms: i64) -> Option<Instant> {
    (next_lease_ms >= 0).then(|| Instant::now() + Duration::from_millis(next_lease_ms as u64))
}

fn entry_snapshot(entry: &redis::streams::StreamId) -> Result<Snapshot> {
    let get = |k: &str| -> Result<String> {
        entry
            .get::<String>(k)
            .ok_or_else(|| Error::Protocol(format!("log entry {} lacks {k}", entry.id)))
    };
    parse_snapshot_fields(
        &get("round")?,
        &get("count")?,
        get("failed")?,
        &get("next")?,
        &entry.get::<String>("abandoned").unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(round: u64, count: i64, failed: &str) -> Snapshot {
        Snapshot {
            round,
            count,
            failed: failed.into(),
            next_lease_ms: -1,
            abandoned: None,
        }
    }

    #[test]
    fn zero_count_is_done() {
        assert_eq!(judge(1, &snap(1, 0, "")), Verdict::Done);
    }

    #[test]
    fn pending_count_waits() {
        assert_eq!(judge(1, &snap(1, 2, "")), Verdict::Pending);
    }

    #[test]
    fn failed_round_names_the_member() {
        assert_eq!(judge(1, &snap(1, 2, "w-1")), Verdict::Lost("w-1".into()));
    }

    #[test]
    fn a_later_round_means_ours_ended() {
        assert_eq!(judge(1, &snap(2, 5, "")), Verdict::Done);
    }

    #[test]
    fn a_reset_of_our_round_is_not_done() {
        let mut s = snap(2, 0, "");
        s.abandoned = Some(1);
        assert_eq!(judge(1, &s), Verdict::Reset(1));
        // An earlier round's reset says nothing about ours.
        s.abandoned = Some(0);
        assert_eq!(judge(1, &s), Verdict::Done);
    }

    #[test]
    fn a_later_reset_seen_without_the_entries_between_is_not_done() {
        // Our round 1 may have been reset too: only the lost entries could tell.
        let mut s = snap(4, 0, "");
        s.abandoned = Some(3);
        assert_eq!(judge(1, &s), Verdict::Unknown);
    }

    #[test]
    fn an_earlier_round_than_ours_is_the_state_going_back() {
        assert_eq!(judge(2, &snap(1, 0, "")), Verdict::WentBack);
        assert_eq!(judge(2, &snap(1, 3, "")), Verdict::WentBack);
    }

    #[test]
    fn stream_ids_compare_as_numbers() {
        assert!(stream_id_before("9-0", "10-0"));
        assert!(stream_id_before("10-2", "10-10"));
        assert!(!stream_id_before("10-0", "10-0"));
        assert!(!stream_id_before("11-0", "10-5"));
        assert!(!stream_id_before("x", "10-5"));
    }

    #[test]
    fn no_lease_means_no_lease_wake() {
        assert!(lease_instant(-1).is_none());
        assert!(lease_instant(0).is_some());
    }
}
