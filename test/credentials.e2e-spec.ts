import type Redis from 'ioredis';
import { newId } from '../apps/credential-verification/src/common/ids';
import { bearer, keysUnder, type TestApp, useSeededApp } from './support/app-fixture';

/** The public verification path and the issuer's writes, on one instance (real Postgres, real Redis). */
describe('credentials (e2e)', () => {
  const suite = useSeededApp('credentials');

  const inject = (...args: Parameters<TestApp['app']['inject']>) => suite.instance.app.inject(...args);

  async function issue(body: Record<string, unknown> = {}, token = suite.fx.issuerToken) {
    return inject({ method: 'POST', url: '/credentials', headers: bearer(token), payload: { holderId: suite.fx.holderId, title: 'Certified Cloud Practitioner', ...body } });
  }

  /** Inserts a credential behind the app's back, so nothing about it is cached yet. */
  async function insertDirectly(overrides: { expiresAt?: string } = {}): Promise<string> {
    const id = newId('credential');
    await suite.instance.db.query(
      `INSERT INTO credentials (id, org_id, holder_id, holder_name, title, expires_at) VALUES ($1, $2, $3, 'Amara Okafor', 'Dean’s List Honours', $4)`,
      [id, suite.fx.orgId, suite.fx.holderId, overrides.expiresAt ?? null],
    );
    return id;
  }

  async function queriesDuring(work: () => Promise<unknown>): Promise<number> {
    const before = suite.instance.queries();
    await work();
    return suite.instance.queries() - before;
  }

  describe('GET /credentials/:id (verify)', () => {
    it('loads from the database on a miss, then serves from Redis with no query at all', async () => {
      const id = await insertDirectly();
      let first: Awaited<ReturnType<typeof inject>> | undefined;
      // credential + issuer settings
      expect(await queriesDuring(async () => (first = await inject({ url: `/credentials/${id}` })))).toBe(2);
      expect(first!.statusCode).toBe(200);
      expect(first!.json()).toMatchObject({ status: 'valid', credential: { id, status: 'active' }, issuer: { id: suite.fx.orgId, name: 'Northbridge University' } });

      for (let i = 0; i < 5; i++) {
        expect(await queriesDuring(async () => expect((await inject({ url: `/credentials/${id}` })).json().status).toBe('valid'))).toBe(0);
      }
      // Service-level caching: no X-Cache header; the query counter is the evidence.
      expect(first!.headers['x-cache']).toBeUndefined();
      expect(first!.headers.vary).toBe('Accept');
      expect(await suite.redis.exists(`${suite.world.namespace}:credential:${id}`)).toBe(1);
    });

    it('caches credentials for 10 minutes (policy credential, ±10 % jitter)', async () => {
      const id = await insertDirectly();
      await inject({ url: `/credentials/${id}` });
      const ttl = await suite.redis.pttl(`${suite.world.namespace}:credential:${id}`);
      expect(ttl).toBeGreaterThan(9 * 60_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(11 * 60_000);
    });

    it('serves an HTML page to browsers and JSON to API clients from the same cached entry', async () => {
      const id = await insertDirectly();
      await inject({ url: `/credentials/${id}` });
      let page: Awaited<ReturnType<typeof inject>> | undefined;
      expect(await queriesDuring(async () => (page = await inject({ url: `/credentials/${id}`, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })))).toBe(0);
      expect(page!.statusCode).toBe(200);
      expect(page!.headers['content-type']).toMatch(/^text\/html/);
      expect(page!.body).toContain('data-status="valid"');
      expect(page!.body).toContain('Dean’s List Honours');
      expect(page!.body).toContain('Amara Okafor');
      const json = await inject({ url: `/credentials/${id}`, headers: { accept: 'application/json' } });
      expect(json.headers['content-type']).toMatch(/^application\/json/);
    });

    it('reports an expired credential as expired although the cached record is unchanged', async () => {
      const id = await insertDirectly({ expiresAt: '2020-01-01T00:00:00Z' });
      expect((await inject({ url: `/credentials/${id}` })).json().status).toBe('expired');
      expect((await inject({ url: `/credentials/${id}`, headers: { accept: 'text/html' } })).body).toContain('data-status="expired"');
    });

    it('answers 400 for a malformed id, before any cache or database work', async () => {
      for (const bad of ['abc', 'cred_short', 'usr_aaaaaaaaaaaaaaaaaaaa', 'cred_AAAAAAAAAAAAAAAAAAAA', "cred_'or'1'='1'--aaaaaa"]) {
        let response: Awaited<ReturnType<typeof inject>> | undefined;
        expect(await queriesDuring(async () => (response = await inject({ url: `/credentials/${encodeURIComponent(bad)}` })))).toBe(0);
        expect(response!.statusCode).toBe(400);
        expect(response!.json().message).toMatch(/credential id/);
      }
    });

    it('answers 404 for an unknown id and negative-caches it for ~30 s', async () => {
      const unknown = 'cred_zzzzzzzzzzzzzzzzzzzz';
      let response: Awaited<ReturnType<typeof inject>> | undefined;
      expect(await queriesDuring(async () => (response = await inject({ url: `/credentials/${unknown}` })))).toBe(1);
      expect(response!.statusCode).toBe(404);
      expect(response!.json().message).toBe(`credential ${unknown} not found`);
      // A burst of scans of the same bad code: no further query.
      expect(await queriesDuring(() => Promise.all(Array.from({ length: 10 }, () => inject({ url: `/credentials/${unknown}` }))))).toBe(0);
      const ttl = await suite.redis.pttl(`${suite.world.namespace}:credential:${unknown}`);
      expect(ttl).toBeGreaterThan(20_000);
      expect(ttl).toBeLessThanOrEqual(33_000);
      const page = await inject({ url: `/credentials/${unknown}`, headers: { accept: 'text/html' } });
      expect(page.statusCode).toBe(404);
      expect(page.body).toContain('data-status="not-found"');
    });
  });

  describe('POST /credentials (issue)', () => {
    it('issues a credential, caches it at once (write-through) and returns 201', async () => {
      const response = await issue({ description: 'Completed 40 hours', expiresAt: '2031-06-30T00:00:00Z' });
      expect(response.statusCode).toBe(201);
      const credential = response.json();
      expect(credential).toMatchObject({ orgId: suite.fx.orgId, holderId: suite.fx.holderId, holderName: 'Amara Okafor', status: 'active', expiresAt: '2031-06-30T00:00:00.000Z' });
      expect(credential.id).toMatch(/^cred_[0-9a-z]{20}$/);
      expect(await suite.redis.exists(`${suite.world.namespace}:credential:${credential.id}`)).toBe(1);
      await inject({ url: `/orgs/${suite.fx.orgId}/settings` }); // warm the issuer settings
      expect(await queriesDuring(async () => expect((await inject({ url: `/credentials/${credential.id}` })).json().status).toBe('valid'))).toBe(0);
    });

    it('requires a valid bearer token (401)', async () => {
      expect((await inject({ method: 'POST', url: '/credentials', payload: { holderId: suite.fx.holderId, title: 'X title' } })).statusCode).toBe(401);
      expect((await issue({}, 'not-a-real-token')).statusCode).toBe(401);
    });

    it('rejects invalid bodies with a 400 naming each problem', async () => {
      const response = await issue({ holderId: 'nobody', title: 'x', expiresAt: 'next tuesday', extra: true });
      expect(response.statusCode).toBe(400);
      const messages: string[] = response.json().message;
      expect(messages).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/holderId must be a user id/),
          expect.stringMatching(/title must be longer than or equal to 3/),
          expect.stringMatching(/expiresAt must be an ISO 8601 date/),
          'property extra should not exist',
        ]),
      );
      expect((await issue({ expiresAt: '2001-01-01T00:00:00Z' })).json().message).toContain('expiresAt must be in the future');
      expect((await issue({ holderId: 'usr_aaaaaaaaaaaaaaaaaaaa' })).json()).toMatchObject({ statusCode: 400, message: 'holderId usr_aaaaaaaaaaaaaaaaaaaa is not a known user' });
    });
  });

  describe('POST /credentials/:id/revoke', () => {
    it('shows a cached credential as revoked on the very next verification (write-through, no query)', async () => {
      const id = (await issue()).json().id as string;
      expect((await inject({ url: `/credentials/${id}` })).json().status).toBe('valid');
      const revoked = await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.issuerToken), payload: { reason: 'Issued in error' } });
      expect(revoked.statusCode).toBe(200);
      expect(revoked.json()).toMatchObject({ id, status: 'revoked', revocationReason: 'Issued in error' });

      let after: Awaited<ReturnType<typeof inject>> | undefined;
      expect(await queriesDuring(async () => (after = await inject({ url: `/credentials/${id}` })))).toBe(0);
      expect(after!.json()).toMatchObject({ status: 'revoked', credential: { revocationReason: 'Issued in error' } });
      expect((await inject({ url: `/credentials/${id}`, headers: { accept: 'text/html' } })).body).toContain('data-status="revoked"');
    });

    it('is idempotent: a second revocation keeps the first reason and date', async () => {
      const id = (await issue()).json().id as string;
      const first = (await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.issuerToken), payload: { reason: 'First reason' } })).json();
      const second = (await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.issuerToken), payload: { reason: 'Other reason' } })).json();
      expect(second).toMatchObject({ revocationReason: 'First reason', revokedAt: first.revokedAt });
    });

    it('answers 404 for an unknown credential, 403 for another issuer’s, 400 without a reason', async () => {
      const unknown = await inject({ method: 'POST', url: '/credentials/cred_yyyyyyyyyyyyyyyyyyyy/revoke', headers: bearer(suite.fx.issuerToken), payload: { reason: 'because' } });
      expect(unknown.statusCode).toBe(404);
      const id = (await issue()).json().id as string;
      const foreign = await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.otherIssuerToken), payload: { reason: 'because' } });
      expect(foreign.statusCode).toBe(403);
      expect((await inject({ url: `/credentials/${id}` })).json().status).toBe('valid');
      const noReason = await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.issuerToken), payload: {} });
      expect(noReason.statusCode).toBe(400);
      expect(noReason.json().message).toEqual(expect.arrayContaining([expect.stringMatching(/reason/)]));
    });
  });

  describe('GET /holders/:holderId/credentials (cached on the controller handler)', () => {
    it('answers MISS then HIT, and is evicted by issue and revoke', async () => {
      const url = `/holders/${suite.fx.holderId}/credentials`;
      const miss = await inject({ url });
      expect(miss.statusCode).toBe(200);
      expect(miss.headers['x-cache']).toBe('MISS');
      const hit = await inject({ url });
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.json()).toEqual(miss.json());

      const id = (await issue({ title: 'Machine Learning Specialisation' })).json().id as string;
      const afterIssue = await inject({ url });
      expect(afterIssue.headers['x-cache']).toBe('MISS');
      expect(afterIssue.json().credentials[0]).toMatchObject({ id, title: 'Machine Learning Specialisation' });
      expect((await inject({ url })).headers['x-cache']).toBe('HIT');

      await inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(suite.fx.issuerToken), payload: { reason: 'Replaced' } });
      const afterRevoke = await inject({ url });
      expect(afterRevoke.headers['x-cache']).toBe('MISS');
      expect(afterRevoke.json().credentials.find((c: { id: string }) => c.id === id).status).toBe('revoked');
    });

    it('answers 400 for a malformed holder id and 404 for an unknown holder, caching neither', async () => {
      const bad = await inject({ url: '/holders/not-an-id/credentials' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toMatch(/holderId must be a user id/);
      const unknown = await inject({ url: '/holders/usr_aaaaaaaaaaaaaaaaaaaa/credentials' });
      expect(unknown.statusCode).toBe(404);
      // The load lock (released just after the response) must go too; no entry is ever written.
      const leftovers = async () => (await keysUnder(suite.redis, suite.world.namespace)).filter((key) => key.includes(':holder:usr_aaaa') || key.includes(':holder:not-an'));
      for (let i = 0; i < 20 && (await leftovers()).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await leftovers()).toEqual([]);
    });
  });
});
