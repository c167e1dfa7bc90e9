import Redis from 'ioredis';
import { spawnRedisServer, type TestRedis } from '../../../test/support/redis-server';
import { createCacheApp } from './support/cache-app';
import { captureLogs, type LogCapture, type LoggedLine } from './support/log-capture';
import { uniqueNamespace } from './support/redis';

/**
 * The start-up check of Redis memory settings, against redis-servers started with the settings under test: one
 * warning for noeviction or maxmemory 0, none for allkeys-lru with a limit, and no crash (one debug line at most)
 * when ACLs forbid CONFIG and INFO.
 */
describe('start-up check of Redis memory settings', () => {
  const servers: TestRedis[] = [];
  let logs: LogCapture;

  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => logs.restore());
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  async function server(...args: string[]): Promise<TestRedis> {
    const started = await spawnRedisServer(args);
    servers.push(started);
    return started;
  }

  /** Starts and closes an app on `url`; resolves to the Cache logger's lines. */
  async function startUpLines(url: string, cache: Record<string, unknown> = {}): Promise<LoggedLine[]> {
    const namespace = uniqueNamespace('config-check');
    const fixture = await createCacheApp({ cache: { redis: url, namespace, policies: { profile: { ttl: '1m', l1: true }, token: { cache: false }, catalog: { ttl: '1m', immutable: true } }, ...cache } });
    await fixture.close();
    return logs.lines.filter((line) => !line.message.includes('closed'));
  }
  const warnings = (found: LoggedLine[]) => found.filter((line) => line.level === 'warn');
  const infoLine = (found: LoggedLine[]) => found.filter((line) => line.level === 'log' && line.message.startsWith('cache on Redis'));

  it('warns once when the policy is noeviction', async () => {
    const redis = await server('--maxmemory', '64mb', '--maxmemory-policy', 'noeviction');
    const found = await startUpLines(redis.url);
    expect(warnings(found)).toHaveLength(1);
    expect(warnings(found)[0].message).toContain('maxmemory-policy is noeviction');
    expect(warnings(found)[0].message).not.toContain('maxmemory is 0');
    expect(infoLine(found)).toHaveLength(1);
    expect(infoLine(found)[0].message).toContain('maxmemory 64mb, maxmemory-policy noeviction');
  });

  it('warns once when maxmemory is 0 (unset)', async () => {
    const redis = await server('--maxmemory', '0', '--maxmemory-policy', 'allkeys-lru');
    const found = await startUpLines(redis.url);
    expect(warnings(found)).toHaveLength(1);
    expect(warnings(found)[0].message).toContain('maxmemory is 0');
    expect(warnings(found)[0].message).toContain('allkeys-lru or allkeys-lfu');
  });

  it('says nothing for allkeys-lru with maxmemory set, and logs one info line with namespace, policies, tiers and settings', async () => {
    const redis = await server('--maxmemory', '256mb', '--maxmemory-policy', 'allkeys-lru');
    const found = await startUpLines(redis.url);
    expect(warnings(found)).toEqual([]);
    expect(infoLine(found)).toHaveLength(1);
    const [line] = infoLine(found);
    expect(line.message).toMatch(/^cache on Redis 127\.0\.0\.1:\d+ \(maxmemory 256mb, maxmemory-policy allkeys-lru\); namespace "it-config-check-[^"]+"/);
    expect(line.message).toContain('policies: profile, catalog (never cached: token)');
    expect(line.message).toContain('tiers: L2 redis, L1 (in-process) for profile; immutable: catalog');
  });

  describe('with an ACL user', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await server('--maxmemory', '0', '--maxmemory-policy', 'noeviction');
      const admin = new Redis(redis.url);
      await admin.call('ACL', 'SETUSER', 'noconfig', 'on', '>secret', '~*', '&*', '+@all', '-config');
      await admin.call('ACL', 'SETUSER', 'locked', 'on', '>secret', '~*', '&*', '+@all', '-config', '-info');
      await admin.quit();
    });
    const as = (user: string) => redis.url.replace('redis://', `redis://${user}:secret@`);

    it('without CONFIG permission reads INFO memory instead, and still warns', async () => {
      const found = await startUpLines(as('noconfig'));
      expect(warnings(found)).toHaveLength(1);
      expect(warnings(found)[0].message).toContain('noeviction');
      expect(found.some((line) => line.level === 'error')).toBe(false);
    });

    it('without CONFIG or INFO permission starts without a warning or error: one debug line', async () => {
      const found = await startUpLines(as('locked'));
      expect(warnings(found)).toEqual([]);
      expect(found.some((line) => line.level === 'error')).toBe(false);
      const debug = found.filter((line) => line.level === 'debug');
      expect(debug).toHaveLength(1);
      expect(debug[0].message).toContain('Redis memory settings not readable');
      expect(infoLine(found)).toHaveLength(1);
    });
  });
});
