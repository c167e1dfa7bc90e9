import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * Finds a Redis for the tests, in this order: REDIS_URL; a Testcontainers container when a container runtime
 * answers; else a redis-server spawned on a free loopback port. Redis is never mocked in integration tests.
 */

/** A Redis the tests can use, and how to stop it if the tests started it. */
export interface TestRedis {
  readonly url: string;
  readonly source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

export async function findOrStartRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, source: 'REDIS_URL', stop: async () => undefined };
  const container = await startContainer().catch(() => undefined);
  if (container) return container;
  try {
    return await spawnRedisServer();
  } catch (error) {
    throw new Error(
      'No Redis for the tests. Set REDIS_URL to a Redis you can flush, start a container runtime for Testcontainers, ' +
        `or install redis-server on the PATH (spawning it failed: ${(error as Error).message})`,
    );
  }
}

/** Testcontainers is imported lazily: it is optional and slow to load, and no runtime answers on many machines. */
async function startContainer(): Promise<TestRedis | undefined> {
  if (!containerRuntimeConfigured()) return undefined;
  const { getContainerRuntimeClient, GenericContainer } = await import('testcontainers');
  await Promise.race([
    getContainerRuntimeClient(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('no container runtime')), 3_000)),
  ]);
  const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

/** Whether any container runtime is configured at all; saves loading Testcontainers where none can answer. */
function containerRuntimeConfigured(): boolean {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const sockets = ['/var/run/docker.sock', `${process.env.HOME}/.docker/run/docker.sock`, `${process.env.XDG_RUNTIME_DIR}/podman/podman.sock`];
  return sockets.some((socket) => existsSync(socket));
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` on a free port with persistence off; resolves when it answers PING. */
export async function spawnRedisServer(extraArgs: string[] = []): Promise<TestRedis & { port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: 'ignore',
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([waitForPing(url, 5_000), exited]);
  return {
    url,
    port,
    process: child,
    source: 'redis-server',
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/**
 * Resolves once a Redis answers PING, or rejects with the last error after `timeoutMs`. `target` is its URL, or a
 * function that opens a client with the given options (for connections a URL cannot describe, such as TLS with a CA).
 */
export async function waitForPing(target: string | ((options: RedisOptions) => Redis), timeoutMs: number): Promise<void> {
  const open = typeof target === 'string' ? (options: RedisOptions) => new Redis(target, options) : target;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = open({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined); // the failed connect() is what we report
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
}
