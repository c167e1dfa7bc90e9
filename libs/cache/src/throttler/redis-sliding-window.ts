import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { SlidingWindow, WindowDecision, WindowKeys } from './sliding-window';

/**
 * The sliding window on Redis: one sorted set per client (member per allowed hit, score = Redis server time in
 * microseconds) and a block marker, both updated by ONE Lua call per hit. The script runs atomically, so any number
 * of processes sharing the Redis see one consistent count, and never let more than `limit` through in a window.
 * Time comes from Redis (TIME), not from each instance, so clock skew between instances cannot widen the window.
 * The caller puts both keys in one hash slot (a `{...}` hash tag) so the script also runs on Redis Cluster.
 *
 * KEYS[1] hits, KEYS[2] block marker; ARGV[1] window (µs), ARGV[2] limit, ARGV[3] block (ms), ARGV[4] unique member.
 * Returns { allowed (0/1), hits, resetMs, retryMs }.
 */
const SLIDING_WINDOW_HIT = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockMs = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local function resetMs()
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] == nil then return 0 end
  return math.ceil((tonumber(oldest[2]) + window - now) / 1000)
end
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return {0, count + 1, resetMs(), blocked} end
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, count + 1, resetMs(), 0}
end
if blockMs > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', blockMs)
  return {0, count + 1, resetMs(), blockMs}
end
local reset = resetMs()
return {0, count + 1, reset, reset}
`;

const COMMAND = 'cacheThrottleHit';

type HitCommand = (hits: string, block: string, windowUs: number, limit: number, blockMs: number, member: string) => Promise<number[]>;

/** {@link SlidingWindow} on the module's Redis (single node, Sentinel or Cluster). */
export class RedisSlidingWindow implements SlidingWindow {
  /** Members must be unique across instances: two hits in the same microsecond are still two hits. */
  private readonly instanceId = randomBytes(6).toString('hex');
  private sequence = 0;

  constructor(private readonly client: Redis | Cluster) {
    // EVALSHA with a fallback to EVAL on NOSCRIPT (after a restart or failover), handled by ioredis.
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { numberOfKeys: 2, lua: SLIDING_WINDOW_HIT });
  }

  async hit(keys: WindowKeys, windowMs: number, limit: number, blockMs: number): Promise<WindowDecision> {
    const member = `${this.instanceId}:${(this.sequence++).toString(36)}`;
    const command = (this.client as unknown as Record<typeof COMMAND, HitCommand>)[COMMAND];
    const [allowed, hits, resetMs, retryMs] = await command.call(
      this.client,
      keys.hits,
      keys.block,
      Math.round(windowMs * 1000),
      limit,
      Math.max(0, Math.round(blockMs)),
      member,
    );
    return { allowed: allowed === 1, hits, resetMs, retryMs };
  }
}
