//! The Lua scripts: every state change of a group is exactly one of these, run atomically
//! by the server (EVALSHA, falling back to EVAL after a restart emptied the script cache).
//!
//! All scripts take the same four keys, which share the hash tag `{name}` so that they live
//! in one Redis Cluster slot:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `gw:{name}:state` | hash | `round`, `used`, `count`, `unclaimed`, `failed`, `abandoned`, `policy`, `ttl`, `touched`, `last`, `earliest` |
//! | `gw:{name}:members` | hash | member id -> `live` / `done` / `lost` (this round only) |
//! | `gw:{name}:leases` | sorted set | member id, scored by its lease deadline (server ms) |
//! | `gw:{name}:log` | stream | one entry per change, carrying the state after it |
//!
//! and the same two leading arguments, `ARGV[1]` = policy (`fail` / `count`) and `ARGV[2]` =
//! the keys' time to live in ms, used only if the group does not exist yet (first writer
//! creates it). Every script first expires the leases whose deadline is past by the server's
//! own clock (`TIME`), so no client clock ever decides that a member is lost.
//!
//! Replies are arrays of strings whose first element is a status word: `ok`, `stale` (a
//! member of another round), `lost` (the member's lease had expired), `failed` (the round
//! failed and needs `reset`), `negative` (an anonymous `done` without a matching `add`).
//! See DESIGN.md, "groupwait-redis", for the transitions in one table.

use redis::Script;
use std::sync::LazyLock;

/// Shared by all scripts: key names, the state cached in a table (one `HGETALL`, one
/// `HSET` of the changed fields at the end), the server clock, the log, lease expiry.
const PRELUDE: &str = r#"
local state, members, leases, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- The state hash, read once. `set` changes the cached copy and marks the field for the
-- single HSET in `finish`.
local S, dirty = {}, {}
do
  local flat = redis.call('HGETALL', state)
  for i = 1, #flat, 2 do S[flat[i]] = flat[i + 1] end
end
local function str(field) return S[field] or '' end
local function num(field) return tonumber(S[field] or '0') end
local function set(field, value) S[field] = tostring(value); dirty[field] = true end

-- Create the group on first use, with the caller's policy and key TTL.
local created = false
if S['round'] == nil then
  set('round', 1); set('used', 0); set('count', 0); set('unclaimed', 0); set('failed', '')
  set('policy', ARGV[1]); set('ttl', ARGV[2]); set('last', '0-0')
  created = true
end
-- Scripts that may create the members / leases keys set this to renew every key's TTL.
local force_touch = created

local now
do
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The earliest lease deadline (server ms), or nil when no lease is held; it serves both the
-- expiry check below and the `next` field of log entries. Kept in the state hash (`earliest`)
-- so that a script does not pay a ZRANGE: the kept value is never later than the true
-- earliest deadline (a join or renewal lowers it to its new deadline if that is earlier; a
-- removed or pushed-back lease leaves it early), so expiry is never noticed late. An early
-- value only makes the check below sweep (finding nothing) and read the true one.
local earliest
local function set_earliest(deadline)
  earliest = deadline
  set('earliest', deadline and string.format('%.0f', deadline) or '')
end
local function read_earliest()
  local first = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
  set_earliest(first[2] and tonumber(first[2]) or nil)
end
local function lower_earliest(deadline)
  if earliest == nil or deadline < earliest then set_earliest(deadline) end
end
if S['earliest'] == nil then
  read_earliest() -- a new group, or one written before this field existed
else
  earliest = tonumber(S['earliest'])
end

-- Milliseconds from now to the earliest lease deadline, or -1 when no lease is held. After a
-- lease is removed this may be earlier than the truth: a waiter then wakes early and asks
-- again, never late.
local function next_lease()
  if earliest == nil then return -1 end
  local d = earliest - now
  if d < 0 then d = 0 end
  return d
end

-- Append one entry carrying the whole state after the change, and remember its id, so a
-- waiter can decide from any single entry and can read state + position in one step.
local function event(kind, member)
  local id = redis.call('XADD', log, 'MAXLEN', '~', 1000, '*',
    'kind', kind, 'round', str('round'), 'count', str('count'), 'failed', str('failed'),
    'member', member or '', 'next', tostring(next_lease()), 'abandoned', str('abandoned'))
  set('last', id)
end

-- A member whose lease ended without `done`: apply the group's policy.
local function lose(id)
  redis.call('ZREM', leases, id)
  redis.call('HSET', members, id, 'lost')
  if str('policy') == 'count' then
    set('count', num('count') - 1)
    event('lost-counted', id)
  else
    if str('failed') == '' then set('failed', id) end
    event('lost', id)
  end
end

-- Leases past their deadline by the server's clock (looked for only if the earliest is).
if earliest ~= nil and earliest <= now then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now)) do lose(id) end
  read_earliest()
end

-- Start a new round when the count is zero and the current round has been used (a fresh
-- group or a reset round is used as it is): members of the old round no longer count.
local function maybe_new_round()
  if num('count') == 0 and num('used') == 1 then
    set('round', num('round') + 1); set('unclaimed', 0)
    redis.call('DEL', members, leases)
    set_earliest(nil)
  end
  set('used', 1)
  force_touch = true
end

-- Write the changed fields back, and renew the keys' TTL: always after a script that may
-- have created a key, otherwise once half the TTL has passed since the last renewal (the
-- `touched` field, in server ms: no call at all on the hot path). An abandoned group
-- disappears between `ttl` / 2 and `ttl` ms after its last change or lease renewal.
local function finish()
  local ttl = num('ttl')
  local touch = ttl > 0 and (force_touch or now - num('touched') > ttl / 2)
  if touch then set('touched', string.format('%.0f', now)) end
  local args = {}
  for field in pairs(dirty) do
    args[#args + 1] = field
    args[#args + 1] = S[field]
  end
  if #args > 0 then redis.call('HSET', state, unpack(args)) end
  if touch then
    redis.call('PEXPIRE', state, ttl)
    redis.call('PEXPIRE', members, ttl)
    redis.call('PEXPIRE', leases, ttl)
    redis.call('PEXPIRE', log, ttl)
  end
end

local function body()
"#;

/// Closes `body()` and runs it: every reply goes through `finish`.
const EPILOGUE: &str = r#"
end
local reply = body()
finish()
return reply
"#;

/// `observe()`: state and log position in one atomic step (after expiring leases).
/// Reply: `ok round count failed last next_lease_ms policy abandoned`.
const OBSERVE: &str = r#"
return {'ok', str('round'), str('count'), str('failed'), str('last'), tostring(next_lease()),
  str('policy'), str('abandoned')}
"#;

/// `add(delta)`: ARGV[3] = delta > 0. Reply: `ok round count` or `failed id`.
const ADD: &str = r#"
if str('failed') ~= '' then return {'failed', str('failed')} end
local delta = tonumber(ARGV[3])
maybe_new_round()
set('count', num('count') + delta); set('unclaimed', num('unclaimed') + delta)
event('add', '')
return {'ok', str('round'), str('count')}
"#;

/// Anonymous `done()`: takes back one unit of `add`. Reply: `ok round count` or `negative`.
const DONE: &str = r#"
if num('unclaimed') <= 0 or num('count') <= 0 then return {'negative'} end
set('count', num('count') - 1); set('unclaimed', num('unclaimed') - 1)
event('done', '')
return {'ok', str('round'), str('count')}
"#;

/// `join(id, lease_ms)`: ARGV[3] = member id, ARGV[4] = lease ms. Claims a unit reserved by
/// `add` if there is one, else adds one. A retried join of the same id counts once.
/// Reply: `ok round count` or `failed id`.
const JOIN: &str = r#"
local id, lease = ARGV[3], tonumber(ARGV[4])
if redis.call('HEXISTS', members, id) == 1 then
  return {'ok', str('round'), str('count')}
end
if str('failed') ~= '' then return {'failed', str('failed')} end
maybe_new_round()
if num('unclaimed') > 0 then
  set('unclaimed', num('unclaimed') - 1)
else
  set('count', num('count') + 1)
end
redis.call('HSET', members, id, 'live')
redis.call('ZADD', leases, now + lease, id)
lower_earliest(now + lease)
event('join', id)
return {'ok', str('round'), str('count')}
"#;

/// `renew(id, round, lease_ms)`: push the lease deadline. Reply: `ok`, `lost id`, `stale round`.
/// No log entry: a later deadline only makes a waiter's wake-up early, never late.
const RENEW: &str = r#"
local id, round, lease = ARGV[3], ARGV[4], tonumber(ARGV[5])
if str('round') ~= round then return {'stale', str('round')} end
local s = redis.call('HGET', members, id)
if s == 'lost' then return {'lost', id} end
if not s then return {'stale', str('round')} end
if s == 'live' then
  redis.call('ZADD', leases, now + lease, id)
  lower_earliest(now + lease)
end
return {'ok'}
"#;

/// Member `done(id, round)`: idempotent. Reply: `ok round count`, `again round count` (already
/// counted), `lost id`, `stale round`.
const MEMBER_DONE: &str = r#"
local id, round = ARGV[3], ARGV[4]
if str('round') ~= round then return {'stale', str('round')} end
local s = redis.call('HGET', members, id)
if s == 'done' then return {'again', str('round'), str('count')} end
if s == 'lost' then return {'lost', id} end
if not s then return {'stale', str('round')} end
redis.call('HSET', members, id, 'done')
redis.call('ZREM', leases, id)
set('count', num('count') - 1)
event('done', id)
return {'ok', str('round'), str('count')}
"#;

/// Member `done`, the common case only, as a script of its own (no prelude): the same
/// transition, replies and log entry as `MEMBER_DONE` when the group exists with the
/// `earliest` field, no lease is due, no TTL renewal is due and no state hash field must be
/// created; otherwise it answers `slow` having written nothing, and the caller runs the full
/// script. About two thirds of the full script's server instructions (callgrind, DESIGN.md
/// "Server cost of a done"): the prelude's general machinery (a table of every state field,
/// closures, number conversions of fields this case never needs) is what it skips.
/// ARGV as for `MEMBER_DONE`.
const MEMBER_DONE_FAST: &str = r#"
local state, members, leases, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, round = ARGV[3], ARGV[4]
local v = redis.call('HMGET', state, 'round', 'count', 'failed', 'abandoned', 'earliest', 'ttl', 'touched')
local cur, count, failed, abandoned, earliest, ttl, touched = v[1], v[2], v[3], v[4], v[5], v[6], v[7]
-- A missing group or a state without `earliest`: the full script creates or completes it.
if not cur or not earliest then return {'slow'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(earliest)
-- A lease to expire, or the keys' TTL to renew (the full script's `finish` would do it on
-- every reply, including `stale`, `again` and `lost`).
if deadline ~= nil and deadline <= now then return {'slow'} end
local ttl_ms = tonumber(ttl or '0')
if ttl_ms > 0 and now - tonumber(touched or '0') > ttl_ms / 2 then return {'slow'} end
if cur ~= round then return {'stale', cur} end
local s = redis.call('HGET', members, id)
if s == 'done' then return {'again', cur, count or ''} end
if s == 'lost' then return {'lost', id} end
if not s then return {'stale', cur} end
redis.call('HSET', members, id, 'done')
redis.call('ZREM', leases, id)
local left = tostring(tonumber(count or '0') - 1)
local next_ms = deadline and tostring(deadline - now) or '-1'
local entry = redis.call('XADD', log, 'MAXLEN', '~', '1000', '*',
  'kind', 'done', 'round', cur, 'count', left, 'failed', failed or '',
  'member', id, 'next', next_ms, 'abandoned', abandoned or '')
redis.call('HSET', state, 'count', left, 'last', entry)
return {'ok', cur, left}
"#;

/// `leave(id, round)`: the handle was dropped without `done`; end the lease now.
/// Reply: `ok` (whatever the member's state was).
const LEAVE: &str = r#"
local id, round = ARGV[3], ARGV[4]
if str('round') == round and redis.call('HGET', members, id) == 'live' then lose(id) end
return {'ok'}
"#;

/// `reset()`: start a new round with count 0, forgetting the old round's members and failure.
/// A round reset before its count reached zero is recorded in `abandoned`, so that its
/// waiters report it instead of taking the new round for completion. Reply: `ok round`.
const RESET: &str = r#"
if num('count') > 0 or str('failed') ~= '' then set('abandoned', str('round')) end
set('round', num('round') + 1); set('used', 0); set('count', 0); set('unclaimed', 0)
set('failed', '')
redis.call('DEL', members, leases)
set_earliest(nil)
force_touch = true
event('reset', '')
return {'ok', str('round')}
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}{EPILOGUE}"))
}

pub(crate) static OBSERVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(OBSERVE));
pub(crate) static ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(ADD));
pub(crate) static DONE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(DONE));
pub(crate) static JOIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(JOIN));
pub(crate) static RENEW_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(RENEW));
pub(crate) static MEMBER_DONE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(MEMBER_DONE));
pub(crate) static MEMBER_DONE_FAST_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(MEMBER_DONE_FAST));
pub(crate) static LEAVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(LEAVE));
pub(crate) static RESET_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(RESET));

/// The full script a fast path stands for, when `script` is one: after its `slow` reply
/// (nothing written), the caller runs this instead.
pub(crate) fn full_script_for(script: &Script) -> Option<&'static Script> {
    (script.get_hash() == MEMBER_DONE_FAST_SCRIPT.get_hash()).then(|| &*MEMBER_DONE_SCRIPT)
}

/// All scripts, for loading them once at connect time.
pub(crate) fn all() -> [&'static Script; 9] {
    [
        &OBSERVE_SCRIPT,
        &ADD_SCRIPT,
        &DONE_SCRIPT,
        &JOIN_SCRIPT,
        &RENEW_SCRIPT,
        &MEMBER_DONE_SCRIPT,
        &MEMBER_DONE_FAST_SCRIPT,
        &LEAVE_SCRIPT,
        &RESET_SCRIPT,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_distinct() {
        let mut hashes: Vec<&str> = all().iter().map(|s| s.get_hash()).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 9);
    }
}
