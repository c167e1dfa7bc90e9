import Redis from 'ioredis';
import { freePort, spawnRedisServer } from '../../../test/support/redis-server';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { captureLogs, type LogCapture } from './support/log-capture';

/**
 * AUTH and ACL credentials pass through to Redis, and never reach a log line: start-up, outage and recovery lines name
 * the server by host:port only.
 */
describe('Redis credentials', () => {
  const secret = 'pa55-w0rd-do-not-log';
  let logs: LogCapture;

  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs.restore());

  it('authenticates as an ACL user from the URL, and no log line carries the password', async () => {
    const server = await spawnRedisServer();
    const admin = new Redis(server.url);
    await admin.call('ACL', 'SETUSER', 'cacheuser', 'on', `>${secret}`, '~*', '&*', '+@all');
    admin.disconnect();
    let app: CacheApp | undefined;
    try {
      app = await createCacheApp({ cache: { redis: `redis://cacheuser:${secret}@127.0.0.1:${server.port}`, namespace: 'acl', defaultPolicy: { ttl: '1m' } } });
      expect(await app.cache.getOrSet('k', () => 'v')).toBe('v');
      expect(await app.cache.remainingTtl('k')).toBeGreaterThan(0); // written through the ACL user's connection
      await server.stop(); // an outage: the breaker's log line names the server
      for (let i = 0; i < 10; i++) await app.cache.getOrSet(`k${i}`, () => 'from loader');
    } finally {
      await app?.close();
      await server.stop();
    }
    expect(logs.lines.length).toBeGreaterThan(0);
    expect(logs.messages().join('\n')).not.toContain(secret);
  });

  it('a wrong password is not echoed when Redis refuses it', async () => {
    const port = await freePort();
    const app = await createCacheApp({ cache: { redis: `redis://someone:${secret}@127.0.0.1:${port}`, namespace: 'acl2', defaultPolicy: { ttl: '1m' } } });
    try {
      expect(await app.cache.getOrSet('k', () => 'from loader')).toBe('from loader');
    } finally {
      await app.close();
    }
    expect(logs.messages().join('\n')).not.toContain(secret);
  });
});
