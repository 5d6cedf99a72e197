//! The Lua scripts: every state change of a group is exactly one of these, run atomically
//! by the server (EVALSHA, falling back to EVAL after a restart emptied the script cache).
//!
//! All scripts take the same four keys, which share the hash tag `{name}` so that they live
//! in one Redis Cluster slot:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `gw:{name}:state` | hash | `inc`, `round`, `used`, `count`, `unclaimed`, `live`, `recs`, `failed`, `abandoned`, `policy`, `ttl`, `touched`, `last`, `earliest` |
//! | `gw:{name}:members` | hash | `m:<member id>` -> `live:<token>` / `done:<token>` / `lost:<token>`; `j:<member id>` -> its join time (server ms); `o:<key>` -> `done` for `done_once` (this round only) |
//! | `gw:{name}:leases` | sorted set | member id, scored by its lease deadline (server ms) |
//! | `gw:{name}:log` | stream | one entry per change, carrying the state after it |
//!
//! and the same four leading arguments: `ARGV[1]` = policy (`fail` / `count`) and `ARGV[2]` =
//! the keys' time to live in ms, both used only by the call that creates the group;
//! `ARGV[3]` = the incarnation the caller expects (empty if it has not seen the group yet);
//! `ARGV[4]` = a fresh incarnation id if this call may create the group (only `add`, the
//! joins and `reset` may), else empty.
//!
//! **Incarnations.** A group gets a random incarnation id when it is created; every log
//! entry and every reply carries it (a reply's last element). A script that finds the group
//! missing (and may not create it, or the caller expects an incarnation) or holding another
//! incarnation than the caller expects writes nothing and answers `gone`: lost keys never
//! read as a fresh, finished group. So does one that finds the keys inconsistent (members
//! recorded but the members hash or the leases gone: partial eviction).
//!
//! Every script first expires the leases whose deadline is past by the server's own clock
//! (`TIME`), so no client clock ever decides that a member is lost.
//!
//! Replies are arrays of strings whose first element is a status word: `ok`, `gone` (see
//! above), `stale` (a member of an earlier round), `lost` (the member's lease had expired),
//! `failed` (the round failed and needs `reset`), `negative` (an anonymous `done` without a
//! matching `add`), `duplicate` (a member id in use by another join), `unreserved` (a
//! claiming join with no unit reserved), `toolarge` (a count past 2^53 - 1). See DESIGN.md,
//! "groupwait-redis", for the transitions in one table.

use redis::Script;
use std::sync::LazyLock;

/// The largest count a group holds: every count and delta stays an integer that a Lua number
/// (a double) represents exactly.
pub(crate) const MAX_COUNT: u64 = (1 << 53) - 1;

/// How long the member records of a finished round are kept (at most; never longer than the
/// keys' TTL): for retries of a `done` whose reply was lost, which end within
/// `Options::retry_for`.
pub(crate) const KEEP_RECORDS_MS: u64 = 10 * 60 * 1000;

/// Shared by all scripts: key names, the incarnation check, the state cached in a table (one
/// `HGETALL`, one `HSET` of the changed fields at the end), the server clock, the log, lease
/// expiry. Each script sets `CREATES` (it may create a missing group) and `REPAIRS` (it runs
/// on inconsistent keys, to start over) before this.
const PRELUDE: &str = r#"
local state, members, leases, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, candidate = ARGV[3], ARGV[4]

-- The state hash, read once. `set` changes the cached copy and marks the field for the
-- single HSET in `finish`.
local S, dirty = {}, {}
do
  local flat = redis.call('HGETALL', state)
  for i = 1, #flat, 2 do S[flat[i]] = flat[i + 1] end
end
local function str(field) return S[field] or '' end
local function num(field) return tonumber(S[field] or '0') end
-- Numbers as integers ('%.0f': exact up to 2^53, never '1e+14').
local function fmt(n) return string.format('%.0f', n) end
local function set(field, value)
  if type(value) == 'number' then value = fmt(value) end
  S[field] = value; dirty[field] = true
end

-- Only the calls meant to create a group create one, and only for a caller that expects no
-- particular incarnation: a group that was lost is never recreated under its waiters.
local created = false
if S['round'] == nil then
  if not CREATES or expected ~= '' then return {'gone', 'missing', ''} end
  -- Keys that outlived a lost state hash belong to an earlier incarnation.
  redis.call('DEL', members, leases, log)
  set('inc', candidate); set('round', 1); set('used', 0); set('count', 0); set('unclaimed', 0)
  set('live', 0); set('recs', 0); set('failed', ''); set('policy', ARGV[1]); set('ttl', ARGV[2])
  set('last', '0-0')
  created = true
end
if S['inc'] == nil then set('inc', '0') end -- a group written before incarnations existed
if expected ~= '' and S['inc'] ~= expected then return {'gone', 'replaced', S['inc']} end
-- Records of this round whose keys are gone (evicted, deleted by hand): the state can no
-- longer tell who is out, so nothing may be decided from it.
-- (A finished round needs neither: its member records are kept only for late retries.)
local over = num('count') == 0 and num('used') == 1
if not REPAIRS and (str('damaged') ~= '' or (not over and
    ((num('live') > 0 and redis.call('EXISTS', leases) == 0)
    or (num('recs') > 0 and redis.call('EXISTS', members) == 0)))) then
  return {'gone', 'damaged', S['inc']}
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
  set('earliest', deadline and fmt(deadline) or '')
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
    'member', member or '', 'next', fmt(next_lease()), 'abandoned', str('abandoned'),
    'inc', str('inc'))
  set('last', id)
end

-- A member record: status and the token of the join that made it.
local function record(id)
  local v = redis.call('HGET', members, 'm:' .. id)
  if not v then return nil, nil end
  return string.match(v, '^(%a+):(.*)$')
end

-- A member whose lease ended without `done`: apply the group's policy.
local function lose(id)
  local _, token = record(id)
  redis.call('ZREM', leases, id)
  redis.call('HSET', members, 'm:' .. id, 'lost:' .. (token or ''))
  set('live', num('live') - 1)
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

-- Whether the round is over: its count reached zero after it was used.
local function finished()
  return num('count') == 0 and num('used') == 1
end

-- Start a new round when the current one is over (a fresh group or a reset round is used as
-- it is): members of the old round no longer count.
local function maybe_new_round()
  if finished() then
    set('round', num('round') + 1); set('unclaimed', 0); set('live', 0); set('recs', 0)
    redis.call('DEL', members, leases)
    set_earliest(nil)
  end
  set('used', 1)
  force_touch = true
end

-- A member's call names the round it joined: an earlier round is `stale`; a later one
-- cannot exist unless the state went back in time (a restore from an older snapshot).
local function round_check(round)
  local mine, cur = tonumber(round), num('round')
  if mine == nil then return {'gone', 'bad round ' .. round} end
  if cur < mine then return {'gone', 'went back'} end
  if cur > mine then return {'stale', str('round')} end
  return nil
end

-- A member of this round and incarnation that the state does not know: the state lost
-- writes (restored from a snapshot taken after the member's unit was reserved but before its
-- join, or failed over to a replica that missed it). Nobody can tell who else it forgot, so
-- the group is marked damaged: its waiters learn it from the log entry at once (else they
-- would wait for a unit whose member's done now counts nowhere).
local function forgotten(id)
  set('damaged', '1')
  event('damaged', id)
  return {'forgotten'}
end

-- Write the changed fields back, and renew the keys' TTL: always after a script that may
-- have created a key, otherwise once half the TTL has passed since the last renewal (the
-- `touched` field, in server ms: no call at all on the hot path). An abandoned group
-- disappears between `ttl` / 2 and `ttl` ms after its last change or lease renewal.
-- A finished round keeps its log and member records only `KEEP_RECORDS_MS` (they answer
-- late retries of a `done` and late readers of the log; the state hash alone tells that the
-- round is over), from when it reaches zero.
local function finish()
  local ttl = num('ttl')
  local touch = ttl > 0 and (force_touch or now - num('touched') > ttl / 2)
  local ending = dirty['count'] and finished()
  if touch then set('touched', now) end
  local args = {}
  for field in pairs(dirty) do
    args[#args + 1] = field
    args[#args + 1] = S[field]
  end
  if #args > 0 then redis.call('HSET', state, unpack(args)) end
  if touch then
    redis.call('PEXPIRE', state, ttl)
    redis.call('PEXPIRE', leases, ttl)
  end
  if touch or ending then
    local keep = ttl
    if finished() and (keep <= 0 or keep > KEEP_RECORDS_MS) then keep = KEEP_RECORDS_MS end
    if keep > 0 then
      redis.call('PEXPIRE', members, keep)
      redis.call('PEXPIRE', log, keep)
    end
  end
end

local function body()
"#;

/// Closes `body()` and runs it: every reply goes through `finish`, except a `gone` one and a
/// refusal by a call that would have created the group (nothing is written: a failed call
/// leaves no new group behind); every reply ends with the group's incarnation.
const EPILOGUE: &str = r#"
end
local reply = body()
if reply[1] == 'gone' or (created and reply[1] ~= 'ok') then
  if created then S['inc'] = nil end
else
  finish()
end
reply[#reply + 1] = str('inc')
return reply
"#;

/// `observe()`: state and log position in one atomic step (after expiring leases).
/// Reply: `ok round count failed last next_lease_ms policy abandoned`.
const OBSERVE: &str = r#"
return {'ok', str('round'), str('count'), str('failed'), str('last'), fmt(next_lease()),
  str('policy'), str('abandoned')}
"#;

/// `outstanding()`: who is still out, after expiring leases. Reply: `ok round count unclaimed
/// now`, then for each member holding a lease: `id deadline joined` (server ms; `joined`
/// empty for a member that joined before join times were kept).
const OUTSTANDING: &str = r#"
local out = {'ok', str('round'), str('count'), str('unclaimed'), fmt(now)}
local leased = redis.call('ZRANGE', leases, 0, -1, 'WITHSCORES')
for i = 1, #leased, 2 do
  local id = leased[i]
  out[#out + 1] = id
  out[#out + 1] = leased[i + 1]
  out[#out + 1] = redis.call('HGET', members, 'j:' .. id) or ''
end
return out
"#;

/// `add(delta)`: ARGV[5] = delta > 0. Reply: `ok round count`, `failed id` or `toolarge`.
const ADD: &str = r#"
if str('failed') ~= '' then return {'failed', str('failed')} end
local delta = tonumber(ARGV[5])
if finished() then
  if delta > MAX_COUNT then return {'toolarge'} end
elseif num('count') + delta > MAX_COUNT then
  return {'toolarge'}
end
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

/// `done_once(key, round, retry)`: an anonymous `done` recorded under `key` in `round` (the
/// round the caller observed before its first attempt), so that a retry after a lost reply
/// counts once. ARGV[5] = key, ARGV[6] = round, ARGV[7] = `1` on a retry.
/// Reply: `ok round count`, `again round count` (a retry that had landed), `used` (a first
/// attempt with a key already recorded in the round), `negative`, `reset round` (the round
/// was reset before this counted), `stale round`.
const DONE_ONCE: &str = r#"
local key, retry = 'o:' .. ARGV[5], ARGV[7] == '1'
local bad = round_check(ARGV[6])
if bad then
  if bad[1] ~= 'stale' then return bad end
  -- The round ended. It ended at zero, which it could not reach with this caller's unit
  -- outstanding: so a retry had landed, unless the round was reset.
  if str('abandoned') == ARGV[6] then return {'reset', ARGV[6]} end
  if retry then return {'again', str('round'), str('count')} end
  return bad
end
if redis.call('HEXISTS', members, key) == 1 then
  if retry then return {'again', str('round'), str('count')} end
  return {'used'}
end
if num('unclaimed') <= 0 or num('count') <= 0 then return {'negative'} end
set('count', num('count') - 1); set('unclaimed', num('unclaimed') - 1)
redis.call('HSET', members, key, 'done')
set('recs', num('recs') + 1)
force_touch = true
event('done', '')
return {'ok', str('round'), str('count')}
"#;

/// `join(id, lease_ms, token, mode)`: ARGV[5] = member id, ARGV[6] = lease ms, ARGV[7] = the
/// join's token (its retries send the same), ARGV[8] = `claim` (take a unit reserved by
/// `add`) or `add` (add a unit of its own, starting a new round if the current one is over).
/// Reply: `ok round count`, `failed id`, `lost id` (this id was lost in this round),
/// `duplicate id` (another join holds this id in this round), `unreserved round`, `toolarge`.
const JOIN: &str = r#"
local id, lease, token, mode = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
-- A self-adding join on a finished round starts the next round first, so that an id used in
-- the finished round is a new member of the new one, not a retry into the old one.
if mode == 'add' and str('failed') == '' and finished() then maybe_new_round() end
local status, held = record(id)
if status == 'live' and held == token then
  return {'ok', str('round'), str('count')} -- a retry of this join, whose reply was lost
end
-- A claim on a finished round: nothing is reserved yet (the ended round's ids say nothing).
if mode == 'claim' and finished() then return {'unreserved', str('round')} end
if status == 'lost' then return {'lost', id} end
if status then return {'duplicate', id} end
if str('failed') ~= '' then return {'failed', str('failed')} end
if mode == 'claim' then
  if num('unclaimed') <= 0 then return {'unreserved', str('round')} end
  set('unclaimed', num('unclaimed') - 1)
else
  if num('count') + 1 > MAX_COUNT then return {'toolarge'} end
  set('used', 1) -- (a finished round was replaced above)
  set('count', num('count') + 1)
end
redis.call('HSET', members, 'm:' .. id, 'live:' .. token, 'j:' .. id, fmt(now))
redis.call('ZADD', leases, now + lease, id)
lower_earliest(now + lease)
set('live', num('live') + 1); set('recs', num('recs') + 1)
force_touch = true
event('join', id)
return {'ok', str('round'), str('count')}
"#;

/// `renew(id, round, token, lease_ms)`: push the lease deadline. Reply: `ok`, `lost id`,
/// `stale round`, `duplicate id`, `gone why`.
/// No log entry: a later deadline only makes a waiter's wake-up early, never late.
const RENEW: &str = r#"
local id, token, lease = ARGV[5], ARGV[7], tonumber(ARGV[8])
local bad = round_check(ARGV[6])
if bad then return bad end
local status, held = record(id)
if not status then
  -- Records of a finished round expire early, and it holds no live member: a renewal late
  -- enough to find them gone is of a member that is over (done, or lost and counted).
  if finished() then return {'lost', id} end
  return forgotten(id)
end
if held ~= token then return {'duplicate', id} end
if status == 'lost' then return {'lost', id} end
if status == 'live' then
  redis.call('ZADD', leases, now + lease, id)
  lower_earliest(now + lease)
end
return {'ok'}
"#;

/// Member `done(id, round, token)`: idempotent. Reply: `ok round count`, `again round count`
/// (already counted; also a retry whose round ended at zero before it), `lost id`,
/// `stale round`, `duplicate id`, `gone why`.
const MEMBER_DONE: &str = r#"
local id, token = ARGV[5], ARGV[7]
local bad = round_check(ARGV[6])
if bad then
  -- A later round. Under `fail` a lost member fails its round, which then ends only by a
  -- reset; so if no reset ended a round since this member's (`abandoned`, which only grows,
  -- is before it), the round ended at zero with this member counted: the retry of a done
  -- whose reply was lost, after the next round began.
  local abandoned = tonumber(str('abandoned')) or 0
  if bad[1] == 'stale' and str('policy') == 'fail' and abandoned < tonumber(ARGV[6]) then
    return {'again', str('round'), str('count')}
  end
  return bad
end
local status, held = record(id)
if not status then
  -- Records of a finished round expire early; it finished with this member counted.
  if finished() then return {'again', str('round'), str('count')} end
  return forgotten(id)
end
if held ~= token then return {'duplicate', id} end
if status == 'done' then return {'again', str('round'), str('count')} end
if status == 'lost' then return {'lost', id} end
redis.call('HSET', members, 'm:' .. id, 'done:' .. token)
redis.call('ZREM', leases, id)
set('count', num('count') - 1); set('live', num('live') - 1)
event('done', id)
return {'ok', str('round'), str('count')}
"#;

/// Member `done`, the common case only, as a script of its own (no prelude): the same
/// transition, replies and log entry as `MEMBER_DONE` when the group exists in the expected
/// incarnation with the `earliest` field, the member is live under its token, no lease is due,
/// no TTL renewal is due and no state hash field must be created; otherwise it answers `slow`
/// having written nothing, and the caller runs the full script. About two thirds of the full
/// script's server instructions (callgrind, DESIGN.md "Server cost of a done"): the prelude's
/// general machinery (a table of every state field, closures, number conversions of fields
/// this case never needs) is what it skips. ARGV as for `MEMBER_DONE`.
const MEMBER_DONE_FAST: &str = r#"
local state, members, leases, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expected, id, round, token = ARGV[3], ARGV[5], ARGV[6], ARGV[7]
local v = redis.call('HMGET', state, 'round', 'count', 'failed', 'abandoned', 'earliest', 'ttl',
  'touched', 'inc', 'live', 'damaged')
local cur, count, failed, abandoned, earliest, ttl, touched, inc, live, damaged =
  v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]
if damaged == '' then damaged = nil end
-- Anything unusual (a missing group, another incarnation, another round, a damaged state, a
-- state without `earliest`): the full script decides.
if not cur or not earliest or not live or inc ~= expected or cur ~= round or damaged then
  return {'slow'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = tonumber(earliest)
-- A lease to expire, or the keys' TTL to renew (the full script's `finish` would do it on
-- every reply, including `again` and `lost`).
if deadline ~= nil and deadline <= now then return {'slow'} end
local ttl_ms = tonumber(ttl or '0')
if ttl_ms > 0 and now - tonumber(touched or '0') > ttl_ms / 2 then return {'slow'} end
if redis.call('HGET', members, 'm:' .. id) ~= 'live:' .. token then return {'slow'} end
-- A live member holds a lease; none to remove (the leases key lost: the full script finds the
-- group damaged) leaves the decision to the full script, with nothing written yet.
if redis.call('ZREM', leases, id) == 0 then return {'slow'} end
redis.call('HSET', members, 'm:' .. id, 'done:' .. token)
local left = string.format('%.0f', tonumber(count) - 1)
local next_ms = deadline and string.format('%.0f', deadline - now) or '-1'
local entry = redis.call('XADD', log, 'MAXLEN', '~', '1000', '*',
  'kind', 'done', 'round', cur, 'count', left, 'failed', failed or '',
  'member', id, 'next', next_ms, 'abandoned', abandoned or '', 'inc', inc)
redis.call('HSET', state, 'count', left, 'live', string.format('%.0f', tonumber(live) - 1),
  'last', entry)
if left == '0' then
  -- The round's last done: as the full script's `finish`, the log and records kept less long.
  local keep = ttl_ms
  if keep <= 0 or keep > KEEP_RECORDS_MS then keep = KEEP_RECORDS_MS end
  redis.call('PEXPIRE', members, keep)
  redis.call('PEXPIRE', log, keep)
end
return {'ok', cur, left, inc}
"#;

/// `leave(id, round, token)`: the handle was dropped without `done`; end the lease now.
/// Reply: `ok` (whatever the member's state was), or `gone why`.
const LEAVE: &str = r#"
local id, token = ARGV[5], ARGV[7]
if round_check(ARGV[6]) then return {'ok'} end
local status, held = record(id)
if status == 'live' and held == token then lose(id) end
return {'ok'}
"#;

/// `reset()`: start a new round with count 0, forgetting the old round's members and failure
/// (creating the group if it is missing, and repairing inconsistent keys). A round reset
/// before its count reached zero is recorded in `abandoned`, so that its waiters report it
/// instead of taking the new round for completion. Reply: `ok round`.
const RESET: &str = r#"
if num('count') > 0 or str('failed') ~= '' then set('abandoned', str('round')) end
set('round', num('round') + 1); set('used', 0); set('count', 0); set('unclaimed', 0)
set('live', 0); set('recs', 0); set('failed', ''); set('damaged', '')
redis.call('DEL', members, leases)
set_earliest(nil)
force_touch = true
event('reset', '')
return {'ok', str('round')}
"#;

/// `delete()`: removes the group, whatever is left of it (no prelude: a group whose state
/// hash alone is gone is deleted too). Its log keeps one last entry, of no incarnation, for a
/// minute, so that blocked waiters wake and report the group gone. Reply: `gone deleted`.
const DELETE: &str = r#"
local state, members, leases, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
redis.call('DEL', state, members, leases, log)
redis.call('XADD', log, '*', 'kind', 'deleted', 'round', '0', 'count', '0', 'failed', '',
  'member', '', 'next', '-1', 'abandoned', '', 'inc', '')
redis.call('PEXPIRE', log, 60000)
return {'gone', 'deleted', ''}
"#;

fn script(creates: bool, repairs: bool, body: &str) -> Script {
    Script::new(&format!(
        "local CREATES, REPAIRS, MAX_COUNT, KEEP_RECORDS_MS = {creates}, {repairs}, {MAX_COUNT}, {KEEP_RECORDS_MS}\n\
         {PRELUDE}{body}{EPILOGUE}"
    ))
}

pub(crate) static OBSERVE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| script(false, false, OBSERVE));
pub(crate) static OUTSTANDING_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| script(false, false, OUTSTANDING));
pub(crate) static ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(true, false, ADD));
pub(crate) static DONE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(false, false, DONE));
pub(crate) static DONE_ONCE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| script(false, false, DONE_ONCE));
pub(crate) static JOIN_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(true, false, JOIN));
pub(crate) static RENEW_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(false, false, RENEW));
pub(crate) static MEMBER_DONE_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| script(false, false, MEMBER_DONE));
pub(crate) static MEMBER_DONE_FAST_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "local KEEP_RECORDS_MS = {KEEP_RECORDS_MS}\n{MEMBER_DONE_FAST}"
    ))
});
pub(crate) static LEAVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(false, false, LEAVE));
pub(crate) static RESET_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(true, true, RESET));
pub(crate) static DELETE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(DELETE));

/// The full script a fast path stands for, when `script` is one: after its `slow` reply
/// (nothing written), the caller runs this instead.
pub(crate) fn full_script_for(script: &Script) -> Option<&'static Script> {
    (script.get_hash() == MEMBER_DONE_FAST_SCRIPT.get_hash()).then(|| &*MEMBER_DONE_SCRIPT)
}

/// Whether `script` may create a missing group (it is then sent a fresh incarnation id).
pub(crate) fn creates(script: &Script) -> bool {
    [&*ADD_SCRIPT, &*JOIN_SCRIPT, &*RESET_SCRIPT]
        .iter()
        .any(|s| s.get_hash() == script.get_hash())
}

/// All scripts, for loading them once at connect time.
pub(crate) fn all() -> [&'static Script; 12] {
    [
        &OBSERVE_SCRIPT,
        &OUTSTANDING_SCRIPT,
        &ADD_SCRIPT,
        &DONE_SCRIPT,
        &DONE_ONCE_SCRIPT,
        &JOIN_SCRIPT,
        &RENEW_SCRIPT,
        &MEMBER_DONE_SCRIPT,
        &MEMBER_DONE_FAST_SCRIPT,
        &LEAVE_SCRIPT,
        &RESET_SCRIPT,
        &DELETE_SCRIPT,
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
        assert_eq!(hashes.len(), all().len());
    }
}
