import { keysUnder, useSeededApp } from './support/app-fixture';

/** Auth tokens are never cached (policy `authToken: { cache: false }`): every check asks the database. */
describe('auth (e2e)', () => {
  const suite = useSeededApp('auth');

  const verify = (token: unknown) => suite.instance.app.inject({ method: 'POST', url: '/auth/verify-token', payload: { token } });

  it('POST /auth/verify-token hits the database on every call and never writes a key', async () => {
    for (let i = 0; i < 5; i++) {
      const before = suite.instance.queries();
      const response = await verify(suite.fx.issuerToken);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ valid: true, orgId: suite.fx.orgId, userId: null, label: 'issuer' });
      expect(suite.instance.queries() - before).toBe(1);
    }
    const keys = await keysUnder(suite.redis, suite.world.namespace);
    expect(keys.filter((key) => key.includes(':auth'))).toEqual([]);
    expect(keys.some((key) => key.includes(suite.fx.issuerToken))).toBe(false);
  });

  it('the guard checks the token against the database on every protected request', async () => {
    const url = `/users/${suite.fx.holderId}/profile`;
    for (let i = 0; i < 3; i++) {
      const before = suite.instance.queries();
      const response = await suite.instance.app.inject({ method: 'PATCH', url, headers: { authorization: `Bearer ${suite.fx.holderToken}` }, payload: { headline: `v${i}` } });
      expect(response.statusCode).toBe(200);
      expect(suite.instance.queries() - before).toBe(2); // token check + update
    }
    expect((await keysUnder(suite.redis, suite.world.namespace)).filter((key) => key.includes(':auth'))).toEqual([]);
  });

  it('a revoked token fails on the very next call', async () => {
    const { AuthService } = await import('../apps/credential-verification/src/auth/auth.service');
    expect((await verify(suite.fx.otherIssuerToken)).statusCode).toBe(200);
    expect(await suite.instance.app.get(AuthService).revokeToken(suite.fx.otherIssuerToken)).toBe(true);
    const after = await verify(suite.fx.otherIssuerToken);
    expect(after.statusCode).toBe(401);
    expect(after.json().message).toBe('the token is unknown or revoked');
  });

  it('answers 400 for a malformed body and 401 for an unknown token or a missing header', async () => {
    const bad = await verify(42);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toEqual(expect.arrayContaining(['token must be a string']));
    expect((await verify('unknown-token-123')).statusCode).toBe(401);
    const noHeader = await suite.instance.app.inject({ method: 'POST', url: '/credentials', payload: {} });
    expect(noHeader.statusCode).toBe(401);
    expect(noHeader.json().message).toBe('Authorization: Bearer <token> is required');
  });
});
