import type Redis from 'ioredis';
import { newId } from '../apps/credential-verification/src/common/ids';
import { bearer, dropWorld, type Fixtures, insertFixtures, isolation, redisClient, startApp, type TestApp } from './support/app-fixture';

/**
 * Two instances of the app behind one load balancer: same PostgreSQL, same Redis. What one instance writes, the
 * other must never contradict, above all a revocation.
 */
describe('two instances sharing Redis and PostgreSQL (e2e)', () => {
  const world = isolation('multi');
  let a: TestApp;
  let b: TestApp;
  let fx: Fixtures;
  let redis: Redis;

  beforeAll(async () => {
    [a, b] = await Promise.all([startApp(world), startApp(world)]); // both migrate at once: the advisory lock serialises them
    fx = await insertFixtures(a.db);
    redis = redisClient();
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropWorld(world, redis);
    redis?.disconnect();
  });

  async function queriesOn(instance: TestApp, work: () => Promise<unknown>): Promise<number> {
    const before = instance.queries();
    await work();
    return instance.queries() - before;
  }

  it('applied each migration once although both instances started together', async () => {
    const rows = await a.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((row) => Number(row.version))).toEqual([1, 2]);
  });

  it('a credential cached by instance A shows revoked on A right after instance B revokes it', async () => {
    const id = newId('credential');
    await a.db.query(`INSERT INTO credentials (id, org_id, holder_id, holder_name, title) VALUES ($1, $2, $3, 'Amara Okafor', 'Award of Excellence')`, [
      id,
      fx.orgId,
      fx.holderId,
    ]);
    expect((await a.app.inject({ url: `/credentials/${id}` })).json().status).toBe('valid');
    expect((await b.app.inject({ url: `/credentials/${id}` })).json().status).toBe('valid'); // B reads A's entry
    expect(await queriesOn(a, () => a.app.inject({ url: `/credentials/${id}` }))).toBe(0); // cached on A

    const revoke = await b.app.inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(fx.issuerToken), payload: { reason: 'Academic misconduct' } });
    expect(revoke.statusCode).toBe(200);

    let onA: ReturnType<typeof JSON.parse>;
    // A learns it from the shared cache (written through by B), without asking the database.
    expect(await queriesOn(a, async () => (onA = (await a.app.inject({ url: `/credentials/${id}` })).json()))).toBe(0);
    expect(onA).toMatchObject({ status: 'revoked', credential: { revocationReason: 'Academic misconduct' } });
    const page = await a.app.inject({ url: `/credentials/${id}`, headers: { accept: 'text/html' } });
    expect(page.body).toContain('data-status="revoked"');
  });

  it('a credential issued on A is served by B from the cache at once', async () => {
    const issued = (await a.app.inject({ method: 'POST', url: '/credentials', headers: bearer(fx.issuerToken), payload: { holderId: fx.holderId, title: 'First Aid at Work' } })).json();
    await b.app.inject({ url: `/orgs/${fx.orgId}/settings` });
    let onB: ReturnType<typeof JSON.parse>;
    expect(await queriesOn(b, async () => (onB = (await b.app.inject({ url: `/credentials/${issued.id}` })).json()))).toBe(0);
    expect(onB).toMatchObject({ status: 'valid', credential: { id: issued.id, title: 'First Aid at Work' } });
  });

  it('an org settings change made on A is visible on both instances on the next request', async () => {
    const url = `/orgs/${fx.orgId}/settings`;
    await Promise.all([a.app.inject({ url }), b.app.inject({ url })]);
    expect(await queriesOn(b, () => b.app.inject({ url }))).toBe(0); // cached

    const changed = {
      displayName: 'Northbridge University (Registry)',
      brandColor: '#0B6E4F',
      supportEmail: 'registry@northbridge.example',
      verificationMessage: 'Verified by the Office of the Registrar.',
      showHolderEmail: false,
    };
    const put = await a.app.inject({ method: 'PUT', url, headers: bearer(fx.issuerToken), payload: changed });
    expect(put.statusCode).toBe(200);
    for (const instance of [a, b]) {
      expect((await instance.app.inject({ url })).json()).toMatchObject({ ...changed, brandColor: '#0b6e4f' });
    }
    // …and on the verification page of its credentials.
    const credential = (await b.app.inject({ method: 'POST', url: '/credentials', headers: bearer(fx.issuerToken), payload: { holderId: fx.holderId, title: 'Grade 8 Piano' } })).json();
    const page = await a.app.inject({ url: `/credentials/${credential.id}`, headers: { accept: 'text/html' } });
    expect(page.body).toContain('Northbridge University (Registry)');
    expect(page.body).toContain('Verified by the Office of the Registrar.');
  });

  it('a profile update on B is visible on A after the eviction', async () => {
    const url = `/users/${fx.holderId}/profile`;
    expect((await a.app.inject({ url })).json().displayName).toBe('Amara Okafor');
    expect(await queriesOn(a, () => a.app.inject({ url }))).toBe(0);
    const patch = await b.app.inject({ method: 'PATCH', url, headers: bearer(fx.holderToken), payload: { displayName: 'Amara N. Okafor' } });
    expect(patch.statusCode).toBe(200);
    expect(await redis.exists(`${world.namespace}:user:${fx.holderId}:profile`)).toBe(0);
    expect((await a.app.inject({ url })).json().displayName).toBe('Amara N. Okafor');
  });

  it('a token revoked in the database is refused by both instances on the next call', async () => {
    const body = { holderId: fx.holderId, title: 'Certificate in Project Management' };
    const token = `short-lived-${newId('user')}`;
    const { hashToken } = await import('../apps/credential-verification/src/auth/auth.service');
    await a.db.query(`INSERT INTO api_tokens (token_hash, org_id, label) VALUES ($1, $2, 'temp')`, [hashToken(token), fx.orgId]);
    expect((await a.app.inject({ method: 'POST', url: '/credentials', headers: bearer(token), payload: body })).statusCode).toBe(201);
    expect((await b.app.inject({ method: 'POST', url: '/credentials', headers: bearer(token), payload: body })).statusCode).toBe(201);
    await a.db.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1', [hashToken(token)]);
    expect((await a.app.inject({ method: 'POST', url: '/credentials', headers: bearer(token), payload: body })).statusCode).toBe(401);
    expect((await b.app.inject({ method: 'POST', url: '/credentials', headers: bearer(token), payload: body })).statusCode).toBe(401);
  });
});
