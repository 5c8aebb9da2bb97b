/**
 * The Lua scripts that make each Redis step atomic. Redis runs a script to
 * the end before any other command, so each reads and writes one consistent state.
 *
 * @module
 */

import { luaScript } from "./_client.ts";

/**
 * Adds a batch unless its id was published before.
 * KEYS: stream, published. ARGV: batch id, envelope.
 * Returns {1, entry id} when added, {0, entry id of the earlier copy} when not.
 */
export const PUBLISH = luaScript(`
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
local id = redis.call('XADD', KEYS[1], '*', 'batch', ARGV[1], 'envelope', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
return {1, id}
`);

/**
 * A worker joins: creates the group if needed (reading from the stream's
 * start), registers the worker and bumps its epoch, which fences off any
 * older process still running under the same name.
 * KEYS: stream, checkpoint, workers. ARGV: group, worker. Returns the new epoch.
 */
export const JOIN = luaScript(`
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('SADD', KEYS[3], ARGV[2])
return epoch
`);

/**
 * Commits a worker's snapshot and acknowledges its entries, atomically, only
 * if its epoch is current and every entry is still pending for it (an entry
 * claimed by another worker makes the whole commit fail). Dead letters and
 * per-batch moments are written in the same step.
 * KEYS: stream, checkpoint, workers, log, dead.
 * ARGV: group, worker, epoch, snapshot, now, log max length, samples,
 *       #folded, #dead, #deltas, then folded entry ids,
 *       then per dead letter (entry id, batch id, reason, payload),
 *       then per delta (entry id, batch id, snapshot, meta).
 * Returns {1, commits} or {0, 'superseded', epoch} or {0, 'lost', entry id}.
 */
export const COMMIT = luaScript(`
local stream, checkpoint, workers, log, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local group, worker = ARGV[1], ARGV[2]
local current = redis.call('HGET', checkpoint, 'epoch')
if current ~= ARGV[3] then return {0, 'superseded', tostring(current)} end
local nFolded, nDead, nDelta = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local ids = {}
local i = 11
for k = 1, nFolded do ids[#ids + 1] = ARGV[i]; i = i + 1 end
local deadAt = i
for k = 1, nDead do ids[#ids + 1] = ARGV[i]; i = i + 4 end
local deltaAt = i
for _, id in ipairs(ids) do
  local pending = redis.call('XPENDING', stream, group, id, id, 1, worker)
  if #pending == 0 then return {0, 'lost', id} end
end
redis.call('HSET', checkpoint, 'snapshot', ARGV[4], 'updated', ARGV[5])
redis.call('HINCRBY', checkpoint, 'commits', 1)
redis.call('HINCRBY', checkpoint, 'batches', nFolded)
redis.call('HINCRBY', checkpoint, 'samples', ARGV[7])
redis.call('HINCRBY', checkpoint, 'deadLetters', nDead)
redis.call('SADD', workers, worker)
i = deadAt
for k = 1, nDead do
  redis.call('XADD', dead, '*', 'entry', ARGV[i], 'batch', ARGV[i + 1], 'reason', ARGV[i + 2], 'worker', worker, 'payload', ARGV[i + 3])
  i = i + 4
end
local maxlen = tonumber(ARGV[6])
i = deltaAt
for k = 1, nDelta do
  if maxlen > 0 then
    redis.call('XADD', log, 'MAXLEN', '~', maxlen, '*', 'worker', worker, 'entry', ARGV[i], 'batch', ARGV[i + 1], 'snapshot', ARGV[i + 2], 'meta', ARGV[i + 3])
  end
  i = i + 4
end
if #ids > 0 then redis.call('XACK', stream, group, unpack(ids)) end
return {1, redis.call('HGET', checkpoint, 'commits')}
`);

const INFO_HELPERS = `
local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end
local function idParts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function idLess(a, b)
  local am, as = idParts(a)
  local bm, bs = idParts(b)
  return am < bm or (am == bm and as < bs)
end
`;

/**
 * Whether the group has acknowledged every entry of the stream: nothing
 * pending, and nothing added after the last entry delivered.
 * KEYS: stream. ARGV: group. Returns {drained 0/1, pending, last delivered, last generated}.
 */
export const DRAINED = luaScript(`${INFO_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {1, 0, '0-0', '0-0'} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local generated = field(info, 'last-generated-id')
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  if field(g, 'name') == ARGV[1] then
    local pending = field(g, 'pending')
    local delivered = field(g, 'last-delivered-id')
    local caughtUp = not idLess(delivered, generated)
    return {(pending == 0 and caughtUp) and 1 or 0, pending, delivered, generated}
  end
end
return {0, -1, '', generated}
`);

/**
 * Trims the stream below the oldest entry any group still needs: the oldest
 * pending entry of every group, and every entry after a group's last
 * delivered one. Never drops a pending or an unread entry.
 * KEYS: stream. Returns {entries removed, MINID used or ''}.
 */
export const TRIM = luaScript(`${INFO_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {0, ''} end
local minimum = nil
for _, g in ipairs(groups) do
  local candidate = field(g, 'last-delivered-id')
  if field(g, 'pending') > 0 then
    local summary = redis.call('XPENDING', KEYS[1], field(g, 'name'))
    if idLess(summary[2], candidate) then candidate = summary[2] end
  end
  if minimum == nil or idLess(candidate, minimum) then minimum = candidate end
end
return {redis.call('XTRIM', KEYS[1], 'MINID', minimum), minimum}
`);

/**
 * Reads every worker's committed state at one instant, in name order, with
 * the id of the last per-batch log entry and the dead-letter count at that instant.
 * KEYS: workers, log, dead. ARGV: checkpoint prefix.
 * Returns {last log id or '', dead letters, name, snapshot, batches, commits, deadLetters, …}.
 */
export const READ_COMMITTED = luaScript(`
local names = redis.call('SMEMBERS', KEYS[1])
table.sort(names)
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local out = {last[1] and last[1][1] or '', redis.call('XLEN', KEYS[3])}
for _, name in ipairs(names) do
  local v = redis.call('HMGET', ARGV[1] .. name, 'snapshot', 'batches', 'commits', 'deadLetters')
  out[#out + 1] = name
  out[#out + 1] = v[1] or ''
  out[#out + 1] = v[2] or '0'
  out[#out + 1] = v[3] or '0'
  out[#out + 1] = v[4] or '0'
end
return out
`);
