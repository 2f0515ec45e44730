/**
 * The Redis data model of a shared room, and the Lua scripts that change it
 * atomically. Every key starts with one prefix (default `wirechat:`):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `epoch` | string | the data generation: a random id set when the room's data is created (see below) |
 * | `restoring` | string | present (for one node TTL) after a data loss: new nicks are refused while nodes restore |
 * | `events:<epoch>` | stream | every durable room event (field `e`, JSON), the one total order; capped |
 * | `history` | stream | public messages only (field `m`, JSON), the shared replay; capped |
 * | `nick:<key>` | string | owner of a nickname: `{"nick","node","id"}` (`<key>` is the folded nick) |
 * | `nodes` | set | node ids that registered and have not been reaped |
 * | `alive:<node>` | string | a node's heartbeat; expires after the node TTL |
 * | `members:<node>` | hash | peer id → nick of each joined member (WHO across nodes) |
 * | `nicks:<node>` | hash | folded nick → peer id of every nick the node's members hold |
 * | `kept:<name>` | string | state kept for nodes that start later (`RoomBus.keep`, e.g. `ban:<nick key>`), expiring with it |
 * | `wake:<node>` | stream | one entry that interrupts the node's blocked reader; expires |
 *
 * Private messages and typing notices are never stored: they go out on the
 * Pub/Sub channel `<prefix>live` (from the same script that checks the
 * sender is present), which keeps nothing.
 *
 * **Data loss.** Every script that writes checks `epoch` against the epoch
 * the node knows and answers `lost` when it differs (Redis was flushed, or
 * restarted without persistence). The node then runs {@linkcode RESTORE}:
 * the first node to do so creates a new epoch (and the `restoring` window),
 * every node re-registers its members and re-claims their nicks, and the
 * first one re-seeds the history from its replay ring. The events stream is
 * per epoch, so a reader switching to the new one reads it from its start.
 *
 * The scripts use keys they derive from the prefix, so they need a single
 * Redis (or a primary with replicas), not Redis Cluster.
 *
 * @module
 */

/**
 * The key names for `prefix` and node `node`.
 *
 * @example
 * ```ts
 * import { redisKeys } from "./scripts.ts";
 * const keys = redisKeys("wirechat:", "n1");
 * if (keys.nick("alice") !== "wirechat:nick:alice" || keys.alive !== "wirechat:alive:n1") throw new Error();
 * if (keys.events("e1") !== "wirechat:events:e1") throw new Error();
 * ```
 */
export function redisKeys(prefix: string, node: string) {
  return {
    epoch: `${prefix}epoch`,
    restoring: `${prefix}restoring`,
    events: (epoch: string) => `${prefix}events:${epoch}`,
    history: `${prefix}history`,
    nodes: `${prefix}nodes`,
    alive: `${prefix}alive:${node}`,
    members: `${prefix}members:${node}`,
    nicks: `${prefix}nicks:${node}`,
    wake: `${prefix}wake:${node}`,
    channel: `${prefix}live`,
    nick: (key: string) => `${prefix}nick:${key}`,
    kept: (name: string) => `${prefix}kept:${name}`,
  };
}

/** A Lua script with its number of `KEYS`. */
export interface LuaScript {
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

/**
 * Claims a nick for a member: succeeds when it is free or already theirs.
 * A free nick is refused while the `restoring` window is open.
 * KEYS: nick key, node nicks hash, epoch, restoring. ARGV: owner JSON, node, peer id, folded nick, epoch.
 * Returns 1 (claimed), 0 (held by someone else), -1 (epoch lost), -2 (restoring).
 */
export const CLAIM_NICK: LuaScript = {
  name: "wirechatClaimNick",
  keys: 4,
  lua: `
if redis.call('GET', KEYS[3]) ~= ARGV[5] then return -1 end
local cur = redis.call('GET', KEYS[1])
if cur then
  local o = cjson.decode(cur)
  if o.node ~= ARGV[2] or tostring(o.id) ~= ARGV[3] then return 0 end
elseif redis.call('EXISTS', KEYS[4]) == 1 then
  return -2
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[3])
return 1`,
};

/**
 * Releases a nick if the member holds it.
 * KEYS: nick key, node nicks hash. ARGV: node, peer id, folded nick.
 */
export const RELEASE_NICK: LuaScript = {
  name: "wirechatReleaseNick",
  keys: 2,
  lua: `
local cur = redis.call('GET', KEYS[1])
if cur then
  local o = cjson.decode(cur)
  if o.node == ARGV[1] and tostring(o.id) == ARGV[2] then
    redis.call('DEL', KEYS[1])
    redis.call('HDEL', KEYS[2], ARGV[3])
  end
end
return 1`,
};

/**
 * Appends one event to the total order, keeping presence in step with it:
 * a join (or a present member's rename) sets the member's nick in the node's
 * members hash, and needs the member to hold that nick; a leave removes it
 * and releases the member's nick, and is dropped when the member is already
 * gone (so a leave is announced exactly once, whoever announces it); any
 * other event from a member who is not present is refused. A public message
 * is also appended to the history stream. An ephemeral event (private
 * message, typing) is published on the Pub/Sub channel instead of the
 * stream: nothing of it is stored.
 *
 * KEYS: events, history, node members hash, node nicks hash, nick key of
 * the event's nick (join, rename, leave; else any key), epoch.
 * ARGV: event JSON, kind, peer id, nick to record, events cap, history cap,
 * message JSON (msg only), node, folded nick (leave only), epoch, channel,
 * `1` when ephemeral.
 * Returns the event's stream id (`"sent"` for an ephemeral event), `"gone"`
 * for a dropped leave, `"absent"` for an event from a member who is not
 * present, `"nick"` for a join or rename to a nick the member does not hold,
 * or `"lost"` when the epoch differs.
 */
export const PUBLISH: LuaScript = {
  name: "wirechatPublish",
  keys: 6,
  lua: `
if redis.call('GET', KEYS[6]) ~= ARGV[10] then return 'lost' end
local kind = ARGV[2]
local function holds()
  local cur = redis.call('GET', KEYS[5])
  if not cur then return false end
  local o = cjson.decode(cur)
  return o.node == ARGV[8] and tostring(o.id) == ARGV[3]
end
if kind == 'leave' then
  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then return 'gone' end
  if holds() then
    redis.call('DEL', KEYS[5])
    redis.call('HDEL', KEYS[4], ARGV[9])
  end
elseif kind == 'join' then
  if not holds() then return 'nick' end
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
elseif redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then
  return 'absent'
elseif kind == 'rename' then
  if not holds() then return 'nick' end
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
end
if ARGV[12] == '1' then
  redis.call('PUBLISH', ARGV[11], ARGV[1])
  return 'sent'
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[1])
if kind == 'msg' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'm', ARGV[7])
end
return id`,
};

/**
 * Refreshes a node's heartbeat and registers it, if the epoch is the one it knows.
 * KEYS: alive key, nodes set, epoch. ARGV: TTL in ms, node, epoch.
 * Returns 1 when the node was not registered (first beat, or it was reaped),
 * 0 when it was, -1 when the epoch differs (nothing written).
 */
export const HEARTBEAT: LuaScript = {
  name: "wirechatHeartbeat",
  keys: 3,
  lua: `
if redis.call('GET', KEYS[3]) ~= ARGV[3] then return -1 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return redis.call('SADD', KEYS[2], ARGV[2])`,
};

/**
 * Reaps every registered node whose heartbeat expired, except the caller
 * (or, with mode `self`, the caller only: a node shutting down):
 * unregisters it, appends a leave event for each of its members, releases
 * its nicks and deletes its presence. Atomic, so a dead node is reaped by
 * exactly one survivor and each member's leave is appended once.
 * Does nothing when the epoch differs.
 * KEYS: nodes set, events, epoch. ARGV: key prefix, events cap, calling node, mode, epoch.
 * Returns the reaped node ids.
 */
export const REAP: LuaScript = {
  name: "wirechatReap",
  keys: 3,
  lua: `
local dead = {}
if redis.call('GET', KEYS[3]) ~= ARGV[5] then return dead end
for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local self = n == ARGV[3]
  if (ARGV[4] == 'self' and self) or (ARGV[4] ~= 'self' and not self and redis.call('EXISTS', ARGV[1] .. 'alive:' .. n) == 0) then
    redis.call('SREM', KEYS[1], n)
    local mh = ARGV[1] .. 'members:' .. n
    local m = redis.call('HGETALL', mh)
    for i = 1, #m, 2 do
      local ev = cjson.encode({ kind = 'leave', nick = m[i + 1], member = { node = n, id = tonumber(m[i]) } })
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'e', ev)
    end
    local nh = ARGV[1] .. 'nicks:' .. n
    local k = redis.call('HGETALL', nh)
    for i = 1, #k, 2 do
      local key = ARGV[1] .. 'nick:' .. k[i]
      local cur = redis.call('GET', key)
      if cur and cjson.decode(cur).node == n then redis.call('DEL', key) end
    end
    redis.call('DEL', mh, nh)
    table.insert(dead, n)
  end
end
return dead`,
};

/**
 * Every member's nick on every registered node.
 * KEYS: nodes set, epoch. ARGV: key prefix, epoch.
 * Returns the nicks, or `"lost"` when the epoch differs.
 */
export const ALL_NICKS: LuaScript = {
  name: "wirechatAllNicks",
  keys: 2,
  lua: `
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 'lost' end
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, nick in ipairs(redis.call('HVALS', ARGV[1] .. 'members:' .. n)) do
    table.insert(out, nick)
  end
end
return out`,
};

/**
 * The room's epoch (created when there is none: a new room), the newest
 * public messages and the id of the newest event, read in one atomic step:
 * the reader starts right after that event, so the history and the live
 * events neither overlap nor leave a gap.
 * KEYS: history, epoch. ARGV: number of messages, epoch to create if none, key prefix.
 * Returns `{ history entries (newest first), epoch, last event id }`.
 */
export const SNAPSHOT: LuaScript = {
  name: "wirechatSnapshot",
  keys: 2,
  lua: `
redis.call('SET', KEYS[2], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[2])
local h = {}
if tonumber(ARGV[1]) > 0 then h = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1]) end
local e = redis.call('XREVRANGE', ARGV[3] .. 'events:' .. epoch, '+', '-', 'COUNT', 1)
local last = '0-0'
if #e > 0 then last = e[1][1] end
return { h, epoch, last }`,
};

/**
 * After a data loss, restores one node: creates the new epoch (and opens the
 * `restoring` window) unless another node already did, registers the node
 * and its members, re-claims their nicks, and re-seeds the history from the
 * node's ring when the history is empty (the first node to restore wins).
 * A member whose nick was taken meanwhile gets the first free candidate of
 * its list (a rename event is appended); one with none free is dropped (a
 * leave event is appended). Other claims (joins and renames in flight) are
 * re-made where free.
 *
 * KEYS: epoch, restoring, nodes, alive key, node members hash, node nicks hash, history.
 * ARGV: node, TTL in ms, the epoch the node knew, epoch to create, key prefix,
 * events cap, history cap, members JSON (`[{id, nicks: [nick, …candidates], keys: [folded, …]}]`),
 * claims JSON (`[{id, nick, key}]`), ring JSON (messages, oldest first).
 * Returns `{ "same" }` when the epoch is still the one the node knew, else
 * `{ epoch, renamed (id, from, to, …), dropped (id, nick, …), number of messages re-seeded }`.
 */
export const RESTORE: LuaScript = {
  name: "wirechatRestore",
  keys: 7,
  lua: `
local node, prefix = ARGV[1], ARGV[5]
local epoch = redis.call('GET', KEYS[1])
if epoch == ARGV[3] then return { 'same' } end
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
end
local events = prefix .. 'events:' .. epoch
-- Where only the epoch key was lost (an eviction), the old stream would stay forever: let it go.
if ARGV[3] ~= '' then redis.call('PEXPIRE', prefix .. 'events:' .. ARGV[3], 60000) end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
redis.call('SADD', KEYS[3], node)
redis.call('DEL', KEYS[5], KEYS[6])
local function claim(id, nick, key)
  local k = prefix .. 'nick:' .. key
  local cur = redis.call('GET', k)
  if cur then
    local o = cjson.decode(cur)
    if o.node ~= node or tostring(o.id) ~= tostring(id) then return false end
  end
  redis.call('SET', k, cjson.encode({ nick = nick, node = node, id = id }))
  redis.call('HSET', KEYS[6], key, id)
  return true
end
local renamed, dropped = {}, {}
for _, m in ipairs(cjson.decode(ARGV[8])) do
  local got = nil
  for j = 1, #m.nicks do
    if claim(m.id, m.nicks[j], m.keys[j]) then got = j break end
  end
  local ref = { node = node, id = m.id }
  if got then
    redis.call('HSET', KEYS[5], m.id, m.nicks[got])
    if got > 1 then
      local ev = cjson.encode({ kind = 'rename', from = m.nicks[1], to = m.nicks[got], member = ref })
      redis.call('XADD', events, 'MAXLEN', '~', ARGV[6], '*', 'e', ev)
      table.insert(renamed, tostring(m.id))
      table.insert(renamed, m.nicks[1])
      table.insert(renamed, m.nicks[got])
    end
  else
    local ev = cjson.encode({ kind = 'leave', nick = m.nicks[1], member = ref })
    redis.call('XADD', events, 'MAXLEN', '~', ARGV[6], '*', 'e', ev)
    table.insert(dropped, tostring(m.id))
    table.insert(dropped, m.nicks[1])
  end
end
for _, c in ipairs(cjson.decode(ARGV[9])) do claim(c.id, c.nick, c.key) end
local seeded = 0
if redis.call('EXISTS', KEYS[7]) == 0 then
  for _, m in ipairs(cjson.decode(ARGV[10])) do
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[7], '*', 'm', m)
    seeded = seeded + 1
  end
end
return { epoch, renamed, dropped, seeded }`,
};

/**
 * A kept value and the milliseconds it has left, read together.
 * KEYS: the `kept:<name>` key. Returns `{ value or false, ttl in ms }`.
 */
export const KEPT_VALUE: LuaScript = {
  name: "wirechatKeptValue",
  keys: 1,
  lua: `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`,
};
