import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { Packr } from 'msgpackr';
import { Cacheable, MsgpackCodec } from '@app/cache';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { rawRedis, readEnvelope, uniqueNamespace } from '../support/redis';
import { RedisProcess } from '../support/redis-process';

/**
 * Bad bytes planted in Redis, beyond what codecs.spec.ts covers (garbage, truncated JSON, foreign JSON, a nested
 * "__proto__" value and msgpack bytes under a json policy): truncated and garbage msgpack under a msgpack policy,
 * and "__proto__" keys at every level of a stored entry, with a check that no prototype was polluted. Each is a
 * miss, the loader runs, and the bad entry is replaced by a good one that is then a hit.
 */

const namespace = uniqueNamespace('bad-data');
const FAR_FUTURE = 9_999_999_999_999;

@Injectable()
class Records {
  readonly loads: Record<string, number> = {};

  @Cacheable({ key: 'json:{0}', policy: 'json' })
  async json(id: string) {
    this.loads[`json:${id}`] = (this.loads[`json:${id}`] ?? 0) + 1;
    return { id, source: 'loader' };
  }

  @Cacheable({ key: 'msgpack:{0}', policy: 'msgpack' })
  async msgpack(id: string) {
    this.loads[`msgpack:${id}`] = (this.loads[`msgpack:${id}`] ?? 0) + 1;
    return { id, source: 'loader', at: new Date(0) };
  }
}

/** A msgpack encoder that, unlike the library's codec, happily writes a "__proto__" key (as an attacker would). */
const rawPackr = new Packr({ useRecords: false, mapsAsObjects: true });
function msgpackWithProtoKey(): Buffer {
  const envelope = JSON.parse('{"__proto__":{"polluted":"msgpack-top"},"v":{"__proto__":{"polluted":"msgpack-value"},"id":"planted"},"f":9999999999999,"l":0}');
  return rawPackr.pack(envelope);
}

describe('resilience: bad data in Redis is a miss, never an error or a pollution', () => {
  let redis: RedisProcess;
  let raw: Redis;
  let fixture: CacheApp;
  let records: Records;
  const key = (relative: string) => `${namespace}:${relative}`;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    raw = rawRedis(redis.url);
    fixture = await createCacheApp({
      cache: { redis: redis.url, namespace, policies: { json: { ttl: '1m', codec: 'json' }, msgpack: { ttl: '1m', codec: 'msgpack' } } },
      providers: [Records],
    });
    records = fixture.get(Records);
  });
  afterEach(() => {
    // Whatever a failed assertion left behind must not leak into other tests of this worker.
    delete (Object.prototype as Record<string, unknown>).polluted;
  });
  afterAll(async () => {
    await fixture?.close();
    raw?.disconnect();
    await redis?.stop();
  });

  const msgpackCases: Array<[string, () => Promise<Buffer>]> = [
    [
      'truncated msgpack (a real entry cut in half)',
      async () => {
        await records.msgpack('source');
        const whole = (await raw.getBuffer(key('msgpack:source')))!;
        expect(new MsgpackCodec().decode(whole)).toMatchObject({ v: { id: 'source' } }); // it was a good entry
        return whole.subarray(0, Math.floor(whole.length / 2));
      },
    ],
    ['garbage bytes', async () => Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37, 0xde, 0xad])],
    ['a msgpack envelope with "__proto__" keys', async () => msgpackWithProtoKey()],
  ];

  it.each(msgpackCases)('%s under a msgpack policy: a miss, the loader runs, the entry is replaced', async (label, plant) => {
    const id = `bad-${msgpackCases.findIndex(([name]) => name === label)}`;
    await raw.set(key(`msgpack:${id}`), await plant(), 'PX', 60_000);
    const value = await records.msgpack(id);
    expect(value).toEqual({ id, source: 'loader', at: new Date(0) });
    expect(records.loads[`msgpack:${id}`]).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(new MsgpackCodec().decode((await raw.getBuffer(key(`msgpack:${id}`)))!)).toMatchObject({ v: { id, source: 'loader' } });
    await expect(records.msgpack(id)).resolves.toEqual(value);
    expect(records.loads[`msgpack:${id}`]).toBe(1);
  });

  const protoCases: Array<[string, string]> = [
    ['"__proto__" at the top of the envelope', `{"__proto__":{"polluted":"top"},"v":{"id":"planted"},"f":${FAR_FUTURE},"l":0}`],
    ['"__proto__" deep in the value', `{"v":{"a":[{"b":{"__proto__":{"polluted":"deep"}}}]},"f":${FAR_FUTURE},"l":0}`],
  ];

  it.each(protoCases)('%s under a json policy: no prototype is polluted; a miss, the loader runs, the entry is replaced', async (label, json) => {
    const id = `proto-${protoCases.findIndex(([name]) => name === label)}`;
    await raw.set(key(`json:${id}`), json, 'PX', 60_000);
    const value = await records.json(id);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(value).toEqual({ id, source: 'loader' });
    expect(records.loads[`json:${id}`]).toBe(1);
    expect((await readEnvelope(raw, key(`json:${id}`)))?.v).toEqual({ id, source: 'loader' });
    await expect(records.json(id)).resolves.toEqual(value);
    expect(records.loads[`json:${id}`]).toBe(1);
  });
});
