import type { Cluster, Redis } from 'ioredis';

/**
 * The Lua scripts of write-behind. Each one is one atomic step on one Redis node: the entry, its lease, the queue
 * and the pending index live in different slots, which is why write-behind refuses a Redis Cluster.
 */

/** `a` newer than `b`, both stream ids `ms-seq` (numbers stay exact: ms < 2^53). */
const NEWER = `local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end
`;

const SCRIPTS = {
  /**
   * Queue one write. KEYS: entry, lease, stream, pending. ARGV: entry bytes, entry TTL ms, maxLength, maxLag ms,
   * entry key, relative key, handler, policy, tenant ('' for none). Returns {1, 'queued', id}; or, past maxLength or maxLag, {0, reason, id}
   * with nothing written but an id reserved above every queued write (the version of the caller's write-through).
   */
  cacheWriteBehind: {
    numberOfKeys: 4,
    lua: `local length = redis.call('XLEN', KEYS[3])
local refused = false
if length >= tonumber(ARGV[3]) then
  refused = 'length'
elseif length > 0 then
  local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
  if oldest then
    local now = redis.call('TIME')
    local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    if nowMs - tonumber(string.match(oldest[1], '^(%d+)')) > tonumber(ARGV[4]) then refused = 'lag' end
  end
end
if refused then
  local reserved = redis.call('XADD', KEYS[3], '*', 'reserved', '1')
  redis.call('XDEL', KEYS[3], reserved)
  return {0, refused, reserved}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
local id = redis.call('XADD', KEYS[3], '*', 'k', ARGV[5], 'r', ARGV[6], 'h', ARGV[7], 'p', ARGV[8], 't', ARGV[9], 'v', ARGV[1])
redis.call('HSET', KEYS[4], ARGV[5], id)
return {1, 'queued', id}`,
  },
  /**
   * After a write-through fallback reached the database: cache its value unless a newer write is queued, and drop
   * the key's pending marker (the database now holds something at least as new). KEYS: entry, lease, pending.
   * ARGV: entry bytes, TTL ms, entry key, version id. Returns 1 when cached.
   */
  cacheWriteBehindSettle: {
    numberOfKeys: 3,
    lua: `${NEWER}local marker = redis.call('HGET', KEYS[3], ARGV[3])
if marker and newer(marker, ARGV[4]) then return 0 end
if marker then redis.call('HDEL', KEYS[3], ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1`,
  },
  /**
   * The newest queued write of a key: {policy, entry bytes}, or nil. KEYS: pending, stream. ARGV: entry key.
   */
  cacheWriteBehindPending: {
    numberOfKeys: 2,
    lua: `local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
local entry = redis.call('XRANGE', KEYS[2], id, id)[1]
if not entry then return false end
local fields, policy, bytes = entry[2], false, false
for i = 1, #fields, 2 do
  if fields[i] == 'p' then policy = fields[i + 1] elseif fields[i] == 'v' then bytes = fields[i + 1] end
end
return {policy, bytes}`,
  },
  /**
   * A batch reached the database: drop each key's pending marker unless a newer write is queued, then acknowledge
   * and delete the batch's entries. KEYS: stream, pending. ARGV: group, n, n pairs (entry key, applied id), ids...
   */
  cacheWriteBehindAck: {
    numberOfKeys: 2,
    lua: `${NEWER}local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local key, applied = ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local marker = redis.call('HGET', KEYS[2], key)
  if marker and not newer(marker, applied) then redis.call('HDEL', KEYS[2], key) end
end
local ids = {}
for i = 3 + 2 * n, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
return #ids`,
  },
  /**
   * Moves entries whose handler kept failing from the queue to the dead-letter stream: each is copied there with its
   * original id, delivery count and the last error, then acknowledged and deleted from the queue. A key whose newest
   * queued write is the one moved loses its pending marker and its cached value (and fill lease), so reads show the
   * database's row again rather than a value the database never took. KEYS: stream, pending, dead letters, then per
   * entry its cache key and lease key. ARGV: group, error, then per entry its id and delivery count. The number of
   * keys varies, so the caller passes it first (as to EVALSHA). Returns the number moved (an entry deleted meanwhile
   * is only acknowledged).
   */
  cacheWriteBehindDeadLetter: {
    lua: `${NEWER}local moved = 0
for i = 1, (#ARGV - 2) / 2 do
  local id, deliveries = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  local entryKey, leaseKey = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
  if entry then
    local fields = entry[2]
    redis.call('XADD', KEYS[3], '*', 'id', id, 'deliveries', deliveries, 'error', ARGV[2], unpack(fields))
    moved = moved + 1
  end
  local marker = redis.call('HGET', KEYS[2], entryKey)
  if marker and not newer(marker, id) then
    redis.call('HDEL', KEYS[2], entryKey)
    redis.call('DEL', entryKey, leaseKey)
  end
  redis.call('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
end
return moved`,
  },
  /**
   * The queue's state for metrics: {length, pending (delivered, not acknowledged), lag ms (age of the oldest queued
   * write, by the server's clock; 0 when empty), dead letters}. KEYS: stream, dead letters. ARGV: group.
   */
  cacheWriteBehindStats: {
    numberOfKeys: 2,
    lua: `local pending = 0
local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(summary) == 'table' and not summary.err then pending = summary[1] end
local lag = 0
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if oldest then
  local now = redis.call('TIME')
  lag = math.max(0, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(string.match(oldest[1], '^(%d+)')))
end
return {redis.call('XLEN', KEYS[1]), pending, lag, redis.call('XLEN', KEYS[2])}`,
  },
  /** Renews the flusher lease if still held. KEYS: leader. ARGV: token, ttl ms. Returns 1 when renewed. */
  cacheWriteBehindRenew: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  },
  /** Gives the flusher lease up if still held. KEYS: leader. ARGV: token. */
  cacheWriteBehindResign: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
} as const;

type Args = Array<string | number | Buffer>;

/** The scripts as commands of one client. */
export interface WriteBehindCommands {
  cacheWriteBehind(...keysAndArgs: Args): Promise<[number, string, string]>;
  cacheWriteBehindSettle(...keysAndArgs: Args): Promise<number>;
  cacheWriteBehindPendingBuffer(...keysAndArgs: Args): Promise<[Buffer, Buffer] | null>;
  cacheWriteBehindAck(...keysAndArgs: Args): Promise<number>;
  cacheWriteBehindRenew(...keysAndArgs: Args): Promise<number>;
  cacheWriteBehindResign(...keysAndArgs: Args): Promise<number>;
  cacheWriteBehindDeadLetter(...keysAndArgs: Args): Promise<number>;
  cacheWriteBehindStats(...keysAndArgs: Args): Promise<[number, number, number, number]>;
}

/** Defines the scripts on `client` (once) and returns it typed with them. */
export function withWriteBehindScripts<C extends Redis | Cluster>(client: C): C & WriteBehindCommands {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  return client as C & WriteBehindCommands;
}
