import { bearer, type TestApp, useSeededApp } from './support/app-fixture';

/** User profiles (5 min, evicted on update) and organisation settings (60 s, evicted on change). */
describe('user profiles and org settings (e2e)', () => {
  const suite = useSeededApp('profiles');

  const inject = (...args: Parameters<TestApp['app']['inject']>) => suite.instance.app.inject(...args);
  async function queriesDuring(work: () => Promise<unknown>): Promise<number> {
    const before = suite.instance.queries();
    await work();
    return suite.instance.queries() - before;
  }

  describe('GET/PATCH /users/:id/profile', () => {
    const url = () => `/users/${suite.fx.holderId}/profile`;

    it('caches a profile for 5 minutes', async () => {
      expect(await queriesDuring(() => inject({ url: url() }))).toBe(1);
      expect(await queriesDuring(() => inject({ url: url() }))).toBe(0);
      const ttl = await suite.redis.pttl(`${suite.world.namespace}:user:${suite.fx.holderId}:profile`);
      expect(ttl).toBeGreaterThan(4 * 60_000);
      expect(ttl).toBeLessThanOrEqual(5.5 * 60_000);
    });

    it('shows an update on the next read (evicted, then reloaded once)', async () => {
      await inject({ url: url() });
      const patch = await inject({ method: 'PATCH', url: url(), headers: bearer(suite.fx.holderToken), payload: { headline: 'Staff engineer', email: 'amara@work.example' } });
      expect(patch.statusCode).toBe(200);
      expect(patch.json()).toMatchObject({ id: suite.fx.holderId, headline: 'Staff engineer', email: 'amara@work.example', displayName: 'Amara Okafor' });
      let read: ReturnType<typeof JSON.parse>;
      expect(await queriesDuring(async () => (read = (await inject({ url: url() })).json()))).toBe(1);
      expect(read).toMatchObject({ headline: 'Staff engineer', email: 'amara@work.example' });
    });

    it('answers 401 without a token, 403 for another user’s token', async () => {
      expect((await inject({ method: 'PATCH', url: url(), payload: { headline: 'x' } })).statusCode).toBe(401);
      const forbidden = await inject({ method: 'PATCH', url: `/users/${suite.fx.otherUserId}/profile`, headers: bearer(suite.fx.holderToken), payload: { headline: 'x' } });
      expect(forbidden.statusCode).toBe(403);
    });

    it('answers 400 for malformed ids and bodies, 404 for unknown users', async () => {
      const badId = await inject({ url: '/users/42/profile' });
      expect(badId.statusCode).toBe(400);
      expect(badId.json().message).toMatch(/id must be a user id: "usr_"/);
      const badBody = await inject({ method: 'PATCH', url: url(), headers: bearer(suite.fx.holderToken), payload: { email: 'not-an-email', displayName: '', admin: true } });
      expect(badBody.statusCode).toBe(400);
      expect(badBody.json().message).toEqual(
        expect.arrayContaining(['email must be an email address', 'displayName must be longer than or equal to 1 characters', 'property admin should not exist']),
      );
      const empty = await inject({ method: 'PATCH', url: url(), headers: bearer(suite.fx.holderToken), payload: {} });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().message).toBe('give at least one of displayName, email, headline');
      expect((await inject({ url: '/users/usr_aaaaaaaaaaaaaaaaaaaa/profile' })).statusCode).toBe(404);
      // A missing profile is not negative-cached (the userProfile policy has no negativeTtl).
      expect(await queriesDuring(() => inject({ url: '/users/usr_aaaaaaaaaaaaaaaaaaaa/profile' }))).toBe(1);
    });
  });

  describe('GET/PUT /orgs/:id/settings', () => {
    const url = () => `/orgs/${suite.fx.orgId}/settings`;
    const valid = { displayName: 'Northbridge University', brandColor: '#1f4e79', supportEmail: null, verificationMessage: 'Welcome', showHolderEmail: true };

    it('caches settings for 60 seconds', async () => {
      await inject({ url: url() });
      expect(await queriesDuring(() => inject({ url: url() }))).toBe(0);
      const ttl = await suite.redis.pttl(`${suite.world.namespace}:org:${suite.fx.orgId}:settings`);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(66_000);
    });

    it('shows a change on the next read', async () => {
      await inject({ url: url() });
      expect((await inject({ method: 'PUT', url: url(), headers: bearer(suite.fx.issuerToken), payload: valid })).statusCode).toBe(200);
      expect((await inject({ url: url() })).json()).toMatchObject({ ...valid, orgId: suite.fx.orgId });
    });

    it('answers 403 for another organisation’s token and 400 for bad bodies', async () => {
      expect((await inject({ method: 'PUT', url: url(), headers: bearer(suite.fx.otherIssuerToken), payload: valid })).statusCode).toBe(403);
      const bad = await inject({ method: 'PUT', url: url(), headers: bearer(suite.fx.issuerToken), payload: { ...valid, brandColor: 'blue', showHolderEmail: 'yes' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toEqual(expect.arrayContaining(['brandColor must be a hex colour such as #1f4e79', 'showHolderEmail must be a boolean value']));
      const missing = await inject({ method: 'PUT', url: url(), headers: bearer(suite.fx.issuerToken), payload: { displayName: 'Only a name' } });
      expect(missing.statusCode).toBe(400);
      expect((await inject({ url: '/orgs/org_aaaaaaaaaaaaaaaaaaaa/settings' })).statusCode).toBe(404);
      expect((await inject({ url: '/orgs/acme/settings' })).statusCode).toBe(400);
    });
  });
});
