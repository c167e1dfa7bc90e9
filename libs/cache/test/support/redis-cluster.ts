import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type ClusterNode } from 'ioredis';
import { freePort, waitForPing } from '../../../../test/support/redis-server';

const run = promisify(execFile);

/** A Redis Cluster a test file started and owns. */
export interface TestRedisCluster {
  /** The masters' addresses, as `{ cluster: { nodes } }` and `new Cluster(nodes)` take them. */
  readonly nodes: ClusterNode[];
  /** A new ioredis Cluster client on it (the caller closes it). */
  client(): Cluster;
  /** Kills every node and removes their directories. */
  stop(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` masters (default 3, no replicas) on free loopback ports, each redis-server in
 * its own temporary directory with persistence off, joins them with `redis-cli --cluster create` and resolves once
 * every node reports cluster_state:ok (about 2 s).
 * @example
 * const cluster = await startRedisCluster();
 * const app = await createCacheApp({ cache: { redis: { cluster: { nodes: cluster.nodes } } } });
 * await cluster.stop();
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const ports: number[] = [];
  // freePort() releases the port before returning it: ask for all of them first, so two nodes never get the same.
  while (ports.length < masters) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const children: ChildProcess[] = [];
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
  try {
    for (const port of ports) {
      // Each node in its own directory: nodes.conf (the cluster's view) is per node and written by the node.
      const nodeDir = join(dir, String(port));
      mkdirSync(nodeDir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--dir', nodeDir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
        ],
        { stdio: 'ignore', cwd: nodeDir },
      );
      children.push(child);
      child.once('error', () => undefined);
    }
    await Promise.all(ports.map((port) => waitForPing(`redis://127.0.0.1:${port}`, 5_000)));
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 15_000 });
    await Promise.all(ports.map((port) => waitForClusterOk(port, 10_000)));
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return {
    nodes,
    client: () => new Cluster(nodes),
    stop,
  };
}

/** Resolves once the node on `port` says cluster_state:ok and knows every slot. */
async function waitForClusterOk(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
    if (/cluster_state:ok/.test(stdout) && /cluster_slots_ok:16384/.test(stdout)) return;
    if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok after ${timeoutMs} ms:\n${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
