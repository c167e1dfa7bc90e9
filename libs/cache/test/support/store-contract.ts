import { type CacheStore, leaseKeyOf } from '@app/cache';
import { sleep } from './redis';

/** How the contract suite gets a store and a key prefix no other test uses. */
export interface StoreContractSubject {
  /** A store to test (called once, in beforeAll). */
  create(): Promise<CacheStore> | CacheStore;
  /** Releases what create() opened. */
  dispose?(store: CacheStore): Promise<void> | void;
  /** A prefix unique to this run, under which every key of the suite lives; cleared after the suite. */
  prefix: string;
}

/**
 * The contract every {@link CacheStore} keeps (bentocache runs one driver suite against every driver). One suite,
 * run against MemoryStore and RedisStore, so L1 and L2 cannot drift apart.
 */
export function describeStoreContract(name: string, subject: StoreContractSubject): void {
  describe(`CacheStore contract: ${name}`, () => {
    let store: CacheStore;
    const key = (suffix: string) => `${subject.prefix}:${suffix}`;
    const bytes = (text: string) => Buffer.from(text, 'utf8');

    beforeAll(async () => {
      store = await subject.create();
    });
    afterAll(async () => {
      await store.deleteByPrefix(`${subject.prefix}:`);
      await subject.dispose?.(store);
    });

    it('has a name for logs', () => {
      expect(typeof store.name).toBe('string');
      expect(store.name.length).toBeGreaterThan(0);
    });

    it('get of an absent key resolves to undefined', async () => {
      await expect(store.get(key('absent'))).resolves.toBeUndefined();
    });

    it('set then get returns the same bytes as a Buffer', async () => {
      await store.set(key('a'), bytes('hello'), 60_000);
      const got = await store.get(key('a'));
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got?.toString('utf8')).toBe('hello');
    });

    it('set overwrites the previous value and its TTL', async () => {
      await store.set(key('overwrite'), bytes('one'), 60_000);
      await store.set(key('overwrite'), bytes('two'), 5_000);
      expect((await store.get(key('overwrite')))?.toString()).toBe('two');
      const ttl = await store.remainingTtl(key('overwrite'));
      expect(ttl).toBeGreaterThan(4_000);
      expect(ttl).toBeLessThanOrEqual(5_000);
    });

    it('is binary-safe: every byte value, NULs and invalid UTF-8 survive', async () => {
      const all = Buffer.alloc(512);
      for (let i = 0; i < all.length; i++) all[i] = i % 256;
      const tricky = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x0d, 0x0a, 0x80]);
      await store.set(key('binary:all'), all, 60_000);
      await store.set(key('binary:tricky'), tricky, 60_000);
      expect((await store.get(key('binary:all')))?.equals(all)).toBe(true);
      expect((await store.get(key('binary:tricky')))?.equals(tricky)).toBe(true);
    });

    it('stores an empty buffer and a large value', async () => {
      const large = Buffer.alloc(1024 * 1024, 7);
      await store.set(key('large'), large, 60_000);
      expect((await store.get(key('large')))?.equals(large)).toBe(true);
      await store.set(key('empty'), Buffer.alloc(0), 60_000);
      const empty = await store.get(key('empty'));
      expect(empty === undefined || empty.length === 0).toBe(true);
    });

    it('remainingTtl is within the TTL set, and undefined for an absent key', async () => {
      await store.set(key('ttl'), bytes('x'), 30_000);
      const ttl = await store.remainingTtl(key('ttl'));
      expect(ttl).toBeGreaterThan(29_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
      await expect(store.remainingTtl(key('ttl-absent'))).resolves.toBeUndefined();
    });

    it('expires entries after their TTL', async () => {
      await store.set(key('short'), bytes('x'), 60);
      await store.set(key('long'), bytes('y'), 60_000);
      expect(await store.get(key('short'))).toBeDefined();
      await sleep(120);
      await expect(store.get(key('short'))).resolves.toBeUndefined();
      await expect(store.remainingTtl(key('short'))).resolves.toBeUndefined();
      expect((await store.get(key('long')))?.toString()).toBe('y');
    });

    it('a fractional or tiny TTL still stores the entry for at least 1 ms', async () => {
      await store.set(key('tiny'), bytes('x'), 0.4);
      // It may already be gone; what matters is that the call itself succeeds.
      await sleep(5);
      await expect(store.get(key('tiny'))).resolves.toBeUndefined();
    });

    it('delete removes many keys at once and counts only those that existed', async () => {
      await Promise.all(['d1', 'd2', 'd3'].map((suffix) => store.set(key(suffix), bytes(suffix), 60_000)));
      await expect(store.delete([key('d1'), key('d2'), key('d-never')])).resolves.toBe(2);
      await expect(store.get(key('d1'))).resolves.toBeUndefined();
      await expect(store.get(key('d2'))).resolves.toBeUndefined();
      expect((await store.get(key('d3')))?.toString()).toBe('d3');
      await expect(store.delete([])).resolves.toBe(0);
    });

    it('deleteByPrefix deletes exactly the keys that start with the prefix', async () => {
      const group = key('group');
      const inside = Array.from({ length: 1_200 }, (_, i) => `${group}:${i}`);
      await Promise.all(inside.map((k) => store.set(k, bytes('x'), 60_000)));
      await store.set(`${group}-sibling`, bytes('keep'), 60_000);
      await store.set(key('other:1'), bytes('keep'), 60_000);
      await expect(store.deleteByPrefix(`${group}:`)).resolves.toBe(1_200);
      for (const k of [inside[0], inside[599], inside[1_199]]) await expect(store.get(k)).resolves.toBeUndefined();
      expect((await store.get(`${group}-sibling`))?.toString()).toBe('keep');
      expect((await store.get(key('other:1')))?.toString()).toBe('keep');
      await expect(store.deleteByPrefix(`${group}:`)).resolves.toBe(0);
    });

    it.each([
      ['*', 'star*'],
      ['?', 'q?'],
      ['[', 'br[a'],
      [']', 'br]a'],
      ['[ab]', 'set[ab]'],
      ['\\', 'back\\slash'],
      ['^', 'caret[^x]'],
    ])('deleteByPrefix treats %s in the prefix literally', async (_label, literal) => {
      const prefix = key(`glob:${literal}`);
      const matching = [`${prefix}`, `${prefix}:1`, `${prefix}zzz`];
      // Keys a glob reading of the prefix would match, but a literal reading must not.
      const lookalikes = [
        key(`glob:${literal.replace(/[*?[\]\\^]/g, 'X')}`),
        key(`glob:${literal.replace(/[*?[\]\\^]/g, '')}`),
        key(`glob:${literal.replace(/[*?[\]\\^]/g, 'a')}`),
        key(`glob:${literal.replace(/\[ab\]/, 'a')}`),
        key(`glob:${literal.replace(/\[\^x\]/, 'y')}`),
      ].filter((candidate) => !candidate.startsWith(prefix));
      await Promise.all([...matching, ...lookalikes].map((k) => store.set(k, bytes(k), 60_000)));
      await expect(store.deleteByPrefix(prefix)).resolves.toBe(matching.length);
      for (const k of matching) await expect(store.get(k)).resolves.toBeUndefined();
      for (const k of lookalikes) expect((await store.get(k))?.toString()).toBe(k);
      await store.delete(lookalikes);
    });

    it('keys with spaces, newlines and unicode are kept apart', async () => {
      const keys = [key('sp ace'), key('new\nline'), key('ünï—код'), key('sp')];
      await Promise.all(keys.map((k, i) => store.set(k, bytes(String(i)), 60_000)));
      for (const [i, k] of keys.entries()) expect((await store.get(k))?.toString()).toBe(String(i));
    });

    it('a lock is held by one token at a time; only its holder extends or releases it', async () => {
      const lock = leaseKeyOf(key('lock-a'));
      await expect(store.acquireLock(lock, 'one', 5_000)).resolves.toEqual({ acquired: true });
      const second = await store.acquireLock(lock, 'two', 5_000);
      expect(second).toMatchObject({ acquired: false });
      expect((second as { remainingMs: number }).remainingMs).toBeGreaterThan(4_000);
      await expect(store.extendLock(lock, 'two', 5_000)).resolves.toBe(false);
      await expect(store.releaseLock(lock, 'two')).resolves.toBe(false);
      await expect(store.extendLock(lock, 'one', 5_000)).resolves.toBe(true);
      await expect(store.releaseLock(lock, 'one')).resolves.toBe(true);
      await expect(store.acquireLock(lock, 'two', 5_000)).resolves.toEqual({ acquired: true });
      await store.releaseLock(lock, 'two');
    });

    it('acquireLock with unlessKey hands back an existing entry instead of taking the lock', async () => {
      const entry = key('lock-b');
      const lock = leaseKeyOf(entry);
      await store.set(entry, bytes('filled'), 60_000);
      const attempt = await store.acquireLock(lock, 'one', 5_000, entry);
      expect(attempt.acquired).toBe(false);
      expect((attempt as { existing: Buffer }).existing.toString()).toBe('filled');
      await store.delete([entry]);
      await expect(store.acquireLock(lock, 'one', 5_000, entry)).resolves.toEqual({ acquired: true });
      await store.releaseLock(lock, 'one');
    });

    it('setIfLeased stores only while the lease is held, and a delete of the lease key revokes it', async () => {
      const entry = key('lease-a');
      const lease = leaseKeyOf(entry);
      await store.grantLease(lease, 'reader', 5_000);
      await expect(store.setIfLeased(entry, lease, 'other', bytes('x'), 60_000)).resolves.toBe(false);
      await expect(store.setIfLeased(entry, lease, 'reader', bytes('v1'), 60_000)).resolves.toBe(true);
      expect((await store.get(entry))?.toString()).toBe('v1');
      await store.grantLease(lease, 'late-reader', 5_000);
      await store.delete([entry, lease]); // a writer's eviction
      await expect(store.setIfLeased(entry, lease, 'late-reader', bytes('stale'), 60_000)).resolves.toBe(false);
      await expect(store.get(entry)).resolves.toBeUndefined();
    });

    it('getMany reads keys in order and increment counts from zero (same-slot keys, as the contract asks)', async () => {
      const a = key('{counters}:a');
      const b = key('{counters}:b');
      await expect(store.increment([a, b, a])).resolves.toEqual([1, 1, 2]);
      const [first, second, absent] = await store.getMany([a, b, key('{counters}:absent')]);
      expect([first?.toString(), second?.toString(), absent]).toEqual(['2', '1', undefined]);
      await store.delete([a, b]);
    });

    it('getMany reads keys of different slots in order (one MGET per slot on a Cluster)', async () => {
      const names = Array.from({ length: 24 }, (_, index) => key(`spread:${index}`));
      await Promise.all(names.filter((_, index) => index % 3 !== 0).map((name) => store.set(name, bytes(name), 60_000)));
      const values = await store.getMany([...names, names[1]]);
      expect(values.map((value) => value?.toString())).toEqual([...names.map((name, index) => (index % 3 === 0 ? undefined : name)), names[1]]);
      await store.delete(names);
    });
  });
}
