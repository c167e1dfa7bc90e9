import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { APP_ENV_VARS, readConfig } from '../apps/credential-verification/src/config/app-config';

/**
 * No Docker engine runs the tests, so the compose file and Dockerfile are checked statically: the services, their
 * health checks, start order, and that the app service sets every variable the app reads.
 */
const root = join(__dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
const dockerfile = readFileSync(join(root, 'apps/credential-verification/Dockerfile'), 'utf8');
const appEnvironment: Record<string, string> = compose.services.app.environment;

describe('docker-compose.yml', () => {
  it('declares app, redis and postgres, each with a health check', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'postgres', 'redis']);
    for (const name of ['app', 'redis', 'postgres']) {
      const check = compose.services[name].healthcheck;
      expect(check).toBeDefined();
      expect(Array.isArray(check.test) && ['CMD', 'CMD-SHELL'].includes(check.test[0])).toBe(true);
      expect(check.interval).toMatch(/^\d+s$/);
      expect(check.retries).toBeGreaterThan(0);
    }
    expect(compose.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(compose.services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
  });

  it('starts the app only once redis and postgres are healthy', () => {
    expect(compose.services.app.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  it('sets every environment variable the app reads, and nothing it does not', () => {
    for (const name of APP_ENV_VARS) expect({ name, value: appEnvironment[name] }).toEqual({ name, value: expect.any(String) });
    expect(Object.keys(appEnvironment).sort()).toEqual([...APP_ENV_VARS].sort());
  });

  it('points the app at the compose services, with values the app accepts', () => {
    const config = readConfig(appEnvironment);
    expect(config.database).toMatchObject({ kind: 'postgres', schema: 'public' });
    const database = new URL(appEnvironment.DATABASE_URL);
    expect(database.hostname).toBe('postgres');
    const pg = compose.services.postgres.environment;
    expect([decodeURIComponent(database.username), decodeURIComponent(database.password), database.pathname.slice(1)]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB]);
    expect(new URL(config.redisUrl!).hostname).toBe('redis');
    expect(compose.services.app.ports).toContain(`${config.port}:${config.port}`);
    expect(config.host).toBe('0.0.0.0');
  });

  it('builds the app with a multi-stage Dockerfile that runs as a non-root user', () => {
    expect(compose.services.app.build).toEqual({ context: '.', dockerfile: 'apps/credential-verification/Dockerfile' });
    const stages = dockerfile.match(/^FROM\s+\S+\s+AS\s+\w+/gim) ?? [];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER\s+(?!root\b|0\b)\S+/m);
    expect(runtime).toMatch(/COPY --from=build/);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    // The CMD runs the file `nest build credential-verification` emits.
    expect(dockerfile).toContain('CMD ["node", "dist/apps/credential-verification/apps/credential-verification/src/main.js"]');
    expect(existsSync(join(root, 'apps/credential-verification/src/main.ts'))).toBe(true);
  });

  it('is the only reader of the environment: no process.env outside the config file', () => {
    const sourceRoot = join(root, 'apps/credential-verification/src');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.endsWith(join('config', 'app-config.ts')) && readFileSync(path, 'utf8').includes('process.env')) offenders.push(path);
      }
    };
    walk(sourceRoot);
    expect(offenders).toEqual([]);
  });
});
