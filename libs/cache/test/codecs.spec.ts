import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Packr } from 'msgpackr';
import { Cacheable, MsgpackCodec } from '@app/cache';
import { type CacheApp, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { captureLogs, type LogCapture } from './support/log-capture';
import { readEnvelope, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('codecs');

interface Circular {
  name: string;
  self?: Circular;
}

@Injectable()
class Documents {
  readonly calls: Record<string, number> = {};
  private count(name: string) {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  @Cacheable({ key: 'with-function:{0}', policy: 'functions' })
  async withFunction(id: string) {
    this.count('withFunction');
    return { id, format: () => `doc ${id}` };
  }

  @Cacheable({ key: 'circular:{0}', policy: 'circular' })
  async circular(id: string) {
    this.count('circular');
    const value: Circular = { name: id };
    value.self = value;
    return value;
  }

  @Cacheable({ key: 'json:{0}', policy: 'json' })
  async json(id: string) {
    this.count(`json:${id}`);
    return { id, at: new Date('2024-01-02T03:04:05.006Z'), count: this.calls[`json:${id}`] };
  }

  @Cacheable({ key: 'msgpack:{0}', policy: 'msgpack' })
  async msgpack(id: string) {
    this.count(`msgpack:${id}`);
    return { id, at: new Date('2024-01-02T03:04:05.006Z'), bytes: Buffer.from([1, 2, 3]), nested: { list: [1, 'two', null] } };
  }
}

describe('codecs: values that cannot be encoded, bytes that cannot be decoded', () => {
  let fixture: CacheApp;
  let redis: Redis;
  let documents: Documents;
  let logs: LogCapture;
  const key = (relative: string) => `${namespace}:${relative}`;
  const warnings = () => logs.messages('warn');
  const decodeWarnings = () => warnings().filter((message) => message.includes('CACHE_DECODE_FAILED'));

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: {
        policies: {
          functions: { ttl: '1m' },
          circular: { ttl: '1m' },
          json: { ttl: '1m', codec: 'json' },
          msgpack: { ttl: '1m', codec: 'msgpack' },
        },
      },
      providers: [Documents],
    }));
    documents = fixture.get(Documents);
  });
  beforeEach(() => {
    logs = captureLogs(['warn']);
  });
  afterEach(() => logs.restore());
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('a value holding a function is returned, not cached, and warned about once over many calls', async () => {
    for (let i = 0; i < 4; i++) {
      const value = await documents.withFunction('f1');
      expect(value.format()).toBe('doc f1');
    }
    expect(documents.calls.withFunction).toBe(4);
    expect(await redis.exists(key('with-function:f1'))).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('CACHE_ENCODE_FAILED');
    expect(warnings()[0]).toContain('"functions"');
  });

  it('a circular value is returned, not cached, and warned about once over many calls', async () => {
    for (let i = 0; i < 4; i++) {
      const value = await documents.circular(`c${i % 2}`);
      expect(value.self).toBe(value);
    }
    expect(documents.calls.circular).toBe(4);
    expect(await redis.exists(key('circular:c0'), key('circular:c1'))).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('CACHE_ENCODE_FAILED');
  });

  const corruptions: Array<[string, () => Buffer | string]> = [
    ['corrupt bytes', () => Buffer.from([0xff, 0x00, 0xfe, 0x7b, 0x22])],
    ['truncated JSON envelope', () => '{"v":{"id":"x"},"f":9999999999999,"l"'],
    ['foreign JSON (not an envelope)', () => JSON.stringify({ id: 'planted', admin: true })],
    ['an envelope with an extra field', () => JSON.stringify({ v: { id: 'planted' }, f: 9_999_999_999_999, l: 0, x: 1 })],
    ['an envelope with a __proto__ key', () => '{"v":{"__proto__":{"admin":true}},"f":9999999999999,"l":0}'],
    ['msgpack bytes under a json policy', () => new MsgpackCodec().encode({ v: { id: 'planted' }, f: 9_999_999_999_999, l: 0 })],
  ];

  it.each(corruptions)('%s under a json policy: a miss, the loader runs, the entry is replaced', async (label, bytes) => {
    const id = `bad-${corruptions.findIndex(([name]) => name === label)}`;
    await redis.set(key(`json:${id}`), bytes(), 'PX', 60_000);
    const value = await documents.json(id);
    expect(value).toMatchObject({ id, count: 1 });
    expect(value.at).toBeInstanceOf(Date);
    expect(value).not.toHaveProperty('admin');
    expect(documents.calls[`json:${id}`]).toBe(1);
    const envelope = await readEnvelope(redis, key(`json:${id}`));
    expect(envelope?.v).toMatchObject({ id, count: 1 });
    // And the repaired entry is now a hit.
    await documents.json(id);
    expect(documents.calls[`json:${id}`]).toBe(1);
  });

  it('decode failures are warned about once per policy, not once per bad entry', async () => {
    for (let i = 0; i < 3; i++) await redis.set(key(`json:again-${i}`), 'garbage', 'PX', 60_000);
    for (let i = 0; i < 3; i++) await documents.json(`again-${i}`);
    expect(decodeWarnings().length).toBeLessThanOrEqual(1);
  });

  it('JSON bytes under a msgpack policy are a miss and get replaced', async () => {
    await redis.set(key('msgpack:foreign'), JSON.stringify({ v: { id: 'planted' }, f: 9_999_999_999_999, l: 0 }), 'PX', 60_000);
    const value = await documents.msgpack('foreign');
    expect(value.id).toBe('foreign');
    expect(documents.calls['msgpack:foreign']).toBe(1);
  });

  it('round-trips a msgpack policy: binary envelope in Redis, Dates and Buffers back as themselves, then a hit', async () => {
    const first = await documents.msgpack('m1');
    const stored = await redis.getBuffer(key('msgpack:m1'));
    expect(stored).not.toBeNull();
    expect(() => JSON.parse(stored!.toString('utf8'))).toThrow();
    const envelope = new Packr({ useRecords: false, mapsAsObjects: true }).unpack(stored!);
    expect(Object.keys(envelope).sort()).toEqual(['f', 'l', 'v']);
    expect(envelope.v.id).toBe('m1');
    const hit = await documents.msgpack('m1');
    expect(documents.calls['msgpack:m1']).toBe(1);
    expect(hit).toEqual(first);
    expect(hit).not.toBe(first);
    expect(hit.at).toBeInstanceOf(Date);
    expect(hit.at.toISOString()).toBe('2024-01-02T03:04:05.006Z');
    expect(Buffer.from(hit.bytes).equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(hit.nested).toEqual({ list: [1, 'two', null] });
  });
});
