import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConnectionOption } from '../options/cache-options.interface';

/** A Redis connection and whether this module created it (and so must close it). */
export interface RedisConnection {
  readonly client: Redis | Cluster;
  readonly owned: boolean;
  /**
   * Why the last connection attempt failed (refused, TLS handshake, authentication), for the start-up log line;
   * known for connections the module opened.
   */
  readonly lastError: () => string | undefined;
}

/**
 * Connection defaults for a cache: fail fast rather than queue. A command issued while Redis is unreachable fails
 * at once (the engine then serves from the loader) instead of waiting in an offline queue that would replay stale
 * writes after recovery; reconnection goes on in the background with a capped backoff. No auto-pipelining: it costs
 * every command a pipeline of its own (measured: +15-25 µs on a lone GET), and the engine already sends the reads
 * that start together as MGETs of up to 8 keys (see ReadBatcher).
 */
const CACHE_CONNECTION_DEFAULTS: RedisOptions = {
  enableAutoPipelining: false,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
};

/** Opens (or adopts) the connection described by the `redis` option. */
export function openRedisConnection(option: RedisConnectionOption): RedisConnection {
  if (option instanceof Redis || option instanceof Cluster) return { client: option, owned: false, lastError: () => undefined };
  const client = createClient(option);
  // Connection errors surface through failed commands, which the store guard logs once per outage; the last one is
  // kept for the start-up line, so that a refused certificate or password is not reported as a mere outage.
  let lastError: string | undefined;
  client.on('error', (error: Error) => (lastError = withoutCredentials(error.message)));
  client.on('ready', () => (lastError = undefined));
  return { client, owned: true, lastError: () => lastError };
}

function createClient(option: Exclude<RedisConnectionOption, Redis | Cluster>): Redis | Cluster {
  if (typeof option === 'string') return new Redis(option, CACHE_CONNECTION_DEFAULTS);
  if ('cluster' in option) {
    const { nodes, options = {} } = option.cluster;
    return new Cluster(nodes, {
      enableAutoPipelining: false,
      enableOfflineQueue: false,
      ...options,
      redisOptions: { ...CACHE_CONNECTION_DEFAULTS, ...options.redisOptions },
    });
  }
  return new Redis({ ...CACHE_CONNECTION_DEFAULTS, ...option });
}

/**
 * Resolves once the connection is ready, or false after `timeoutMs`: start-up waits briefly for Redis but never
 * fails because of it, since the cache must not be a reason for the app not to serve.
 */
export async function waitUntilReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  if (client.status === 'wait') client.connect().catch(() => undefined);
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    client.once('ready', onReady);
  });
}

/** An error message with any `scheme://user:password@` credentials masked (the message may quote a URL). */
export function withoutCredentials(message: string): string {
  return message.replace(/\/\/[^/\s]*@/g, '//***@');
}

/** host:port of a connection, for logs; never includes credentials. */
export function describeConnection(client: Redis | Cluster): string {
  if (client.isCluster) return 'cluster';
  const { host, port, sentinels, name } = (client as Redis).options;
  return sentinels?.length ? `sentinel(${name})` : `${host}:${port}`;
}
