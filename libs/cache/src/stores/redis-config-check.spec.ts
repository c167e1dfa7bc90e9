import { formatBytes, judgeMemorySettings } from './redis-config-check';

describe('judgeMemorySettings', () => {
  it('accepts a limit with an evicting policy', () => {
    for (const policy of ['allkeys-lru', 'allkeys-lfu', 'volatile-lru', 'volatile-ttl']) {
      expect(judgeMemorySettings([{ maxmemory: 268435456, policy, source: 'CONFIG' }])).toEqual({
        settings: expect.any(Array),
        warning: undefined,
        summary: `maxmemory 256mb, maxmemory-policy ${policy}`,
      });
    }
  });

  it('warns for no limit, for noeviction, and names both in one line when both hold', () => {
    expect(judgeMemorySettings([{ maxmemory: 0, policy: 'allkeys-lru', source: 'INFO' }]).warning).toMatch(/maxmemory is 0/);
    expect(judgeMemorySettings([{ maxmemory: 1024, policy: 'noeviction', source: 'INFO' }]).warning).toMatch(/noeviction/);
    const both = judgeMemorySettings([{ maxmemory: 0, policy: 'noeviction', source: 'CONFIG' }]).warning!;
    expect(both).toMatch(/maxmemory is 0.*; maxmemory-policy is noeviction/);
  });

  it('warns when any Cluster master is misconfigured, and lists distinct settings once', () => {
    const check = judgeMemorySettings([
      { maxmemory: 1024 ** 3, policy: 'allkeys-lru', source: 'CONFIG' },
      { maxmemory: 1024 ** 3, policy: 'allkeys-lru', source: 'CONFIG' },
      { maxmemory: 1024 ** 3, policy: 'noeviction', source: 'CONFIG' },
    ]);
    expect(check.warning).toMatch(/noeviction/);
    expect(check.summary).toBe('maxmemory 1gb, maxmemory-policy allkeys-lru | maxmemory 1gb, maxmemory-policy noeviction');
  });

  it('formats sizes as redis.conf would', () => {
    expect([0, 2048, 1536, 64 * 1024 ** 2].map(formatBytes)).toEqual(['0 (unlimited)', '2kb', '1536b', '64mb']);
  });
});
