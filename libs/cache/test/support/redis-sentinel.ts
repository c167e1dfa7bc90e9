import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, waitForPing } from '../../../../test/support/redis-server';

/** A master, one replica and one Sentinel watching them, started by a test file. */
export interface TestRedisSentinel {
  /** The Sentinel's address, as `{ sentinels: [...] }` takes it. */
  readonly sentinels: Array<{ host: string; port: number }>;
  /** The master group name the Sentinel monitors. */
  readonly name: string;
  readonly masterPort: number;
  readonly replicaPort: number;
  stop(): Promise<void>;
}

/**
 * Starts, on free loopback ports with persistence off: a master, a replica of it, and `redis-server --sentinel`
 * (the Debian redis-server binary includes Sentinel) monitoring the master as `mymaster` with quorum 1. Resolves once
 * the replica is in sync and the Sentinel names the master.
 * @example
 * const sentinel = await startRedisSentinel();
 * CacheModule.forRoot({ redis: { sentinels: sentinel.sentinels, name: sentinel.name } });
 */
export async function startRedisSentinel(name = 'mymaster'): Promise<TestRedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const [masterPort, replicaPort, sentinelPort] = await distinctFreePorts(3);
  const children: ChildProcess[] = [];
  const server = (args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
    child.once('error', () => undefined);
    children.push(child);
  };
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const base = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  try {
    server([...base(masterPort), '--dbfilename', 'master.rdb']);
    server([...base(replicaPort), '--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(masterPort)]);
    // Sentinel rewrites its configuration file, so it needs one of its own in a writable place.
    const config = join(dir, 'sentinel.conf');
    writeFileSync(
      config,
      [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`, `sentinel down-after-milliseconds ${name} 1000`, `sentinel failover-timeout ${name} 5000`, ''].join('\n'),
    );
    server([config, '--sentinel']);
    await Promise.all([masterPort, replicaPort, sentinelPort].map((port) => waitForPing(`redis://127.0.0.1:${port}`, 5_000)));
    await waitUntil(async () => /master_link_status:up/.test(await info(replicaPort, 'replication')), 10_000, 'replica in sync');
    await waitUntil(
      async () => {
        const client = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true });
        try {
          await client.connect();
          const address = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[] | null;
          return address?.[1] === String(masterPort);
        } finally {
          client.disconnect();
        }
      },
      10_000,
      'sentinel knows the master',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name, masterPort, replicaPort, stop };
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

async function info(port: number, section: string): Promise<string> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await client.connect();
    return await client.info(section);
  } finally {
    client.disconnect();
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
