import { Logger } from '@nestjs/common';
import { MemoryStore } from '../stores/memory.store';
import { ReadBatcher, STORE_UNREACHABLE } from './read-batcher';
import { StoreGuard } from './store-guard';

/** A memory store that counts the round trips the batcher makes. */
class CountingStore extends MemoryStore {
  gets = 0;
  getManys: string[][] = [];
  failing = false;

  override async get(key: string) {
    this.gets++;
    if (this.failing) throw new Error('down');
    return super.get(key);
  }

  override async getMany(keys: readonly string[]) {
    this.getManys.push([...keys]);
    if (this.failing) throw new Error('down');
    return super.getMany(keys);
  }
}

describe('ReadBatcher', () => {
  let store: CountingStore;
  let reads: ReadBatcher;
  const text = (reply: unknown) => (Buffer.isBuffer(reply) ? reply.toString() : reply);

  beforeEach(() => {
    store = new CountingStore();
    const guard = new StoreGuard(store, new Logger('test'), { readTimeoutMs: 100, writeTimeoutMs: 100, failureThreshold: 1_000, coolDownMs: 1_000 });
    reads = new ReadBatcher(guard);
  });

  it('1,000 concurrent reads of one key cost one GET, and every caller gets the bytes', async () => {
    await store.set('k', Buffer.from('v'), 60_000);
    const replies = await Promise.all(Array.from({ length: 1_000 }, () => reads.read('k', 100)));
    expect(store.gets).toBe(1);
    expect(store.getManys).toEqual([]);
    expect(new Set(replies.map(text))).toEqual(new Set(['v']));
  });

  it('reads of different keys started together go out as one getMany, each key once, answers in place', async () => {
    await store.set('a', Buffer.from('A'), 60_000);
    await store.set('c', Buffer.from('C'), 60_000);
    const replies = await Promise.all(['a', 'b', 'c', 'a'].map((key) => reads.read(key, 100)));
    expect(replies.map(text)).toEqual(['A', undefined, 'C', 'A']);
    expect(store.getManys).toEqual([['a', 'b', 'c']]);
    expect(store.gets).toBe(0);
  });

  it('a batch of more than 8 keys goes out as several getMany calls of at most 8 keys at once, answers in place', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys.filter((_, i) => i % 3 === 0)) await store.set(key, Buffer.from(key.toUpperCase()), 60_000);
    const replies = await Promise.all(keys.map((key) => reads.read(key, 100)));
    expect(replies.map(text)).toEqual(keys.map((key, i) => (i % 3 === 0 ? key.toUpperCase() : undefined)));
    expect(store.getManys).toEqual([keys.slice(0, 8), keys.slice(8, 16), keys.slice(16)]);
    expect(store.gets).toBe(0);
  });

  it('a batch that leaves one key over sends it as a GET', async () => {
    await Promise.all(Array.from({ length: 9 }, (_, i) => reads.read(`k${i}`, 100)));
    expect(store.getManys.map((batch) => batch.length)).toEqual([8]);
    expect(store.gets).toBe(1);
  });

  it('a read that starts after its batch was sent is not joined to it: it sees a write made in between', async () => {
    await store.set('k', Buffer.from('old'), 60_000);
    const first = reads.read('k', 100);
    await new Promise((resolve) => setImmediate(resolve)); // the batch is sent...
    await store.set('k', Buffer.from('new'), 60_000); // ...then a write is acknowledged...
    const second = reads.read('k', 100); // ...then a read starts: it must not get the earlier batch's answer
    expect(text(await first)).toBe('old');
    expect(text(await second)).toBe('new');
    expect(store.gets).toBe(2);
  });

  it('a read may be shared until its batch is sent, not after; every caller of a key gets its reply', async () => {
    await store.set('k', Buffer.from('v'), 60_000);
    const replies: unknown[] = [];
    const first = reads.readThen('k', 100, (reply) => replies.push(text(reply)));
    reads.readThen('k', 100, (reply) => replies.push(text(reply)));
    expect(reads.isUnsent(first)).toBe(true);
    await Promise.resolve(); // the queued send runs
    expect(reads.isUnsent(first)).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(replies).toEqual(['v', 'v']);
    expect(store.gets).toBe(1);
  });

  it('reads with different timeouts go in different batches', async () => {
    await Promise.all([reads.read('a', 100), reads.read('b', 500)]);
    expect(store.gets).toBe(2);
  });

  it('a failed round trip counts one failure per caller, so a frozen store opens the breaker as fast as unbatched reads did', async () => {
    const guard = new StoreGuard(store, new Logger('test'), { readTimeoutMs: 100, writeTimeoutMs: 100, failureThreshold: 5, coolDownMs: 1_000 });
    const batched = new ReadBatcher(guard);
    store.failing = true;
    await Promise.all(['a', 'a', 'a', 'b'].map((key) => batched.read(key, 100)));
    expect(guard.breakerState).toBe('closed'); // 4 failed callers
    await batched.read('c', 100);
    expect(guard.breakerState).toBe('open'); // the 5th
  });

  it('a failed round trip answers every caller of the batch with STORE_UNREACHABLE (not with "absent")', async () => {
    store.failing = true;
    const replies = await Promise.all(['a', 'b', 'a'].map((key) => reads.read(key, 100)));
    expect(replies).toEqual([STORE_UNREACHABLE, STORE_UNREACHABLE, STORE_UNREACHABLE]);
  });
});
