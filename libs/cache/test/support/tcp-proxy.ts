import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy on node:net between an application and a server (Redis), for network chaos a test controls: every
 * chunk can be held back by a latency (in both directions, order kept), and every open connection can be reset at
 * once. The proxy keeps accepting connections throughout, so clients reconnect through it.
 * @example
 * const proxy = await TcpProxy.start(6379);
 * proxy.setLatency(300);   // each chunk arrives 300 ms late from now on
 * proxy.setLatency(0);     // chunks already held back still arrive in order, new ones at once
 * proxy.resetAll();        // RST on every open connection, both sides
 */
export class TcpProxy {
  private latencyMs = 0;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  /** Connections accepted since start. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards every connection to `targetPort` on `targetHost`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Open connections right now. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Delay applied to every chunk received from now on, in each direction. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Resets every open connection (TCP RST to both the client and the server side). */
  resetAll(): void {
    for (const { client, upstream } of this.pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** Resets every connection and stops listening. */
  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    this.accepted++;
    const upstream = connect(port, host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /** Forwards chunks from `from` to `to`, each after the latency in force when it arrived, never out of order. */
  private pipe(from: Socket, to: Socket): void {
    const queue: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      while (queue.length > 0 && queue[0].due <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) timer = setTimeout(drain, queue[0].due - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      queue.push({ due: Date.now() + this.latencyMs, chunk });
      if (timer === undefined) drain();
    });
    from.on('close', () => clearTimeout(timer));
  }
}
