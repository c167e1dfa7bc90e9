import type Redis from 'ioredis';
import { type CacheApp, createCacheApp } from '../support/cache-app';
import { Catalogue } from '../support/catalogue';
import { captureLogs, type LogCapture } from '../support/log-capture';
import { readEnvelope, scanKeys, sleep, uniqueNamespace } from '../support/redis';
import { startTlsRedisServer, type TlsRedisServer } from '../support/redis-tls';
import { runTlsUrlWorker } from '../support/tls-url-worker';

/**
 * TLS options pass through to ioredis untouched: a redis-server that listens on a TLS port only (no plaintext port,
 * so nothing can succeed without TLS), with requirepass and a throwaway CA. A client that trusts the CA caches in
 * it, given ioredis options or a `rediss://` URL; a client that does not trust it is refused at the handshake and
 * the cache fails open without logging the URL's password.
 */

/** Subscribers of `channel`, polled until there is one or `timeoutMs` has passed (SUBSCRIBE is asynchronous). */
async function subscribersWithin(redis: Redis, channel: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    if (count > 0 || Date.now() > deadline) return count;
    await sleep(50);
  }
}

describe('resilience: Redis over TLS', () => {
  const password = 'tls-pa55-do-not-log';
  let server: TlsRedisServer;
  let inspector: Redis;
  let fixture: CacheApp | undefined;
  let logs: LogCapture;

  beforeAll(async () => {
    server = await startTlsRedisServer(password);
    inspector = server.client();
  });
  afterAll(async () => {
    inspector?.disconnect();
    await server?.stop();
  });
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
    logs.restore();
  });

  it('ioredis options with tls.ca: a @Cacheable method is served from Redis over TLS', async () => {
    const namespace = uniqueNamespace('tls-options');
    fixture = await createCacheApp({
      cache: { redis: { host: server.host, port: server.port, password, tls: { ca: server.ca } }, namespace },
      providers: [Catalogue],
    });
    const catalogue = fixture.get(Catalogue);

    const first = await catalogue.item('1');
    const second = await catalogue.item('1');

    expect(catalogue.loads).toBe(1);
    expect(second).toEqual(first);
    // Read back over a connection of our own: the entry really is in the TLS server.
    expect((await readEnvelope(inspector, `${namespace}:item:1`))?.v).toEqual(first);
    expect(logs.messages()).toContainEqual(expect.stringContaining(`cache on Redis 127.0.0.1:${server.port}`));
    // The bus's subscriber is a second connection (ioredis duplicate()); it must have come up over TLS too.
    expect(await subscribersWithin(inspector, `${namespace}:__bus`, 2_000)).toBe(1);
  });

  it('a rediss:// URL: the same, with the CA trusted through NODE_EXTRA_CA_CERTS (a URL carries no CA)', async () => {
    const namespace = uniqueNamespace('tls-url');

    // Node reads NODE_EXTRA_CA_CERTS only at start-up, hence a process of its own.
    const { values, loads } = await runTlsUrlWorker({ url: server.url, namespace, id: 'u1' }, server.caFile);

    expect(loads).toBe(1);
    expect(values).toHaveLength(2);
    expect(values[1]).toEqual(values[0]);
    expect((await readEnvelope(inspector, `${namespace}:item:u1`))?.v).toEqual(values[0]);
  });

  it('a client that does not trust the CA fails open: loader values, nothing cached, outage logged without the password', async () => {
    const namespace = uniqueNamespace('tls-untrusted');
    const serverOutputBefore = server.output().length;
    // This process trusts only the system CAs, so the handshake is refused; the password is never even sent.
    fixture = await createCacheApp({ cache: { redis: server.url, namespace }, providers: [Catalogue] });
    const catalogue = fixture.get(Catalogue);

    // Enough calls for the store guard's breaker (5 consecutive failures) to open and log the outage.
    const values = [];
    for (let i = 0; i < 6; i++) values.push(await catalogue.item('1'));

    expect(values).toEqual([1, 2, 3, 4, 5, 6].map((load) => ({ id: '1', load })));
    expect(catalogue.loads).toBe(6);
    expect(await scanKeys(inspector, namespace)).toEqual([]);
    // The start-up line says why: the certificate was refused, not merely that Redis did not answer.
    expect(logs.messages()).toContainEqual(expect.stringMatching(new RegExp(`Redis 127\\.0\\.0\\.1:${server.port} not answering \\(.*certificate.*\\)`)));
    expect(logs.messages()).toContainEqual(expect.stringContaining('store unavailable'));
    expect(logs.messages().join('\n')).not.toContain(password);
    // The connections failed in the TLS handshake (the client hangs up on the certificate), not at a port or AUTH.
    expect(server.output().slice(serverOutputBefore)).toMatch(/Error accepting a client connection: .*SSL routines/);
  });
});
