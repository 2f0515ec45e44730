/**
 * The Redis data model of a shared room, and the Lua scripts that change it
 * atomically. Every key starts with one prefix (default `wirechat:`):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `events` | stream | every room event (field `e`, JSON), the one total order; capped |
 * | `history` | stream | public messages only (field `m`, JSON), the shared replay; capped |
 * | `nick:<key>` | string | owner of a nickname: `{"nick","node","id"}` (`<key>` is the case-folded nick) |
 * | `nodes` | set | node ids that registered and have not been reaped |
 * | `alive:<node>` | string | a node's heartbeat; expires after the node TTL |
 * | `members:<node>` | hash | peer id → nick of each joined member (WHO across nodes) |
 * | `nicks:<node>` | hash | case-folded nick → peer id of every nick the node's members hold |
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
 * ```
 */
export function redisKeys(prefix: string, node: string) {
  return {
    events: `${prefix}events`,
    history: `${prefix}history`,
    nodes: `${prefix}nodes`,
    alive: `${prefix}alive:${node}`,
    members: `${prefix}members:${node}`,
    nicks: `${prefix}nicks:${node}`,
    nick: (key: string) => `${prefix}nick:${key}`,
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
 * KEYS: nick key, node nicks hash. ARGV: owner JSON, node, peer id, folded nick.
 * Returns 1 (claimed) or 0 (held by someone else).
 */
export const CLAIM_NICK: LuaScript = {
  name: "wirechatClaimNick",
  keys: 2,
  lua: `
local cur = redis.call('GET', KEYS[1])
if cur then
  local o = cjson.decode(cur)
  if o.node ~= ARGV[2] or tostring(o.id) ~= ARGV[3] then return 0 end
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
 * a join (or a present member's rename) sets the member's nick in the node's members hash; a
 * leave removes it and releases the member's nick, and is dropped when the
 * member is already gone (so a leave is announced exactly once, whoever
 * announces it); any other event from a member who is not present is
 * refused. A public message is also appended to the history stream.
 *
 * KEYS: events, history, node members hash, node nicks hash, nick key of
 * the event's nick (leave only; else any key).
 * ARGV: event JSON, kind, peer id, nick to record, events cap, history cap,
 * message JSON (msg only), node, folded nick (leave only).
 * Returns the event's stream id, `"gone"` for a dropped leave, or
 * `"absent"` for an event from a member who is not present.
 */
export const PUBLISH: LuaScript = {
  name: "wirechatPublish",
  keys: 5,
  lua: `
local kind = ARGV[2]
if kind == 'leave' then
  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then return 'gone' end
  local cur = redis.call('GET', KEYS[5])
  if cur then
    local o = cjson.decode(cur)
    if o.node == ARGV[8] and tostring(o.id) == ARGV[3] then
      redis.call('DEL', KEYS[5])
      redis.call('HDEL', KEYS[4], ARGV[9])
    end
  end
elseif kind == 'join' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
elseif redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then
  return 'absent'
elseif kind == 'rename' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'e', ARGV[1])
if kind == 'msg' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'm', ARGV[7])
end
return id`,
};

/**
 * Refreshes a node's heartbeat and registers it.
 * KEYS: alive key, nodes set. ARGV: TTL in ms, node.
 * Returns 1 when the node was not registered (first beat, or it was reaped).
 */
export const HEARTBEAT: LuaScript = {
  name: "wirechatHeartbeat",
  keys: 2,
  lua: `
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return redis.call('SADD', KEYS[2], ARGV[2])`,
};

/**
 * Reaps every registered node whose heartbeat expired, except the caller
 * (or, with mode `self`, the caller only: a node shutting down):
 * unregisters it, appends a leave event for each of its members, releases
 * its nicks and deletes its presence. Atomic, so a dead node is reaped by
 * exactly one survivor and each member's leave is appended once.
 * KEYS: nodes set, events. ARGV: key prefix, events cap, calling node, mode.
 * Returns the reaped node ids.
 */
export const REAP: LuaScript = {
  name: "wirechatReap",
  keys: 2,
  lua: `
local dead = {}
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
 * KEYS: nodes set. ARGV: key prefix.
 */
export const ALL_NICKS: LuaScript = {
  name: "wirechatAllNicks",
  keys: 1,
  lua: `
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, nick in ipairs(redis.call('HVALS', ARGV[1] .. 'members:' .. n)) do
    table.insert(out, nick)
  end
end
return out`,
};

/**
 * The newest public messages and the id of the newest event, read in one
 * atomic step: the reader starts right after that event, so the history and
 * the live events neither overlap nor leave a gap.
 * KEYS: history, events. ARGV: number of messages.
 * Returns `{ history entries (newest first), last event id }`.
 */
export const SNAPSHOT: LuaScript = {
  name: "wirechatSnapshot",
  keys: 2,
  lua: `
local h = {}
if tonumber(ARGV[1]) > 0 then h = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1]) end
local e = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local last = '0-0'
if #e > 0 then last = e[1][1] end
return { h, last }`,
};
