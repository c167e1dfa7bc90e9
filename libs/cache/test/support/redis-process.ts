import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForPing } from '../../../../test/support/redis-server';

/**
 * A redis-server that a chaos test owns outright, so it can hurt it: kill -9 it, freeze it (SIGSTOP: sockets stay
 * open, nothing answers), thaw it, and start it again on the same port so that clients reconnect to the address
 * they were given. Persistence is off: a restarted server is empty, as after a real crash without a snapshot.
 * @example
 * const redis = await RedisProcess.start();
 * redis.kill();               // SIGKILL, resolves nothing: the port is closed at once
 * await redis.restart();      // same port, answers PING when this resolves
 */
export class RedisProcess {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts redis-server on `port` (default: a free loopback port); resolves when it answers PING. */
  static async start(port?: number): Promise<RedisProcess> {
    const redis = new RedisProcess(port ?? (await freePort()));
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process is alive (frozen counts as alive). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server (again) on the same port; resolves when it answers PING. */
  async restart(): Promise<void> {
    if (this.running) throw new Error(`redis-server on port ${this.port} is still running`);
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`redis-server on port ${this.port} exited (${code ?? signal})`)));
    });
    exited.catch(() => undefined);
    await Promise.race([waitForPing(this.url, 5_000), exited]);
  }

  /** kill -9: the process dies at once and the kernel closes its sockets. Resolves when it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }

  /** SIGSTOP: the process stays, its sockets stay open, nothing is read or answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT: the process goes on with whatever reached its sockets meanwhile. */
  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server for good (thawing it first, so a frozen server can die). */
  async stop(): Promise<void> {
    this.thaw();
    await this.kill();
  }
}
