import { randomUUID } from 'node:crypto';
import { type Cluster, Redis } from 'ioredis';
import type { BusMessage, CacheBus, ReceivedBusMessage } from './cache-bus.interface';

/**
 * The bus over Redis pub/sub: one channel per namespace, published on the shared connection and received on a
 * dedicated subscriber connection (a subscribed connection can issue no other command). ioredis resubscribes after
 * a reconnect; messages published while this instance was disconnected are lost, which users of the bus tolerate
 * because every reconnection is reported to {@link onReconnect} handlers (the engine then empties L1).
 *
 * On a Cluster the subscriber is a plain connection to one node, since a PUBLISH on any node reaches the subscribers
 * of every node. ioredis's own cluster subscriber (that of `Cluster.duplicate()`) cannot be used: when its connection
 * drops it moves to another node without any event, so lost messages would go unnoticed and L1 keep stale copies.
 */
export class RedisBus implements CacheBus {
  private readonly instanceId = randomUUID();
  private readonly channel: string;
  private readonly subscriber: Redis;
  private readonly stopWaitingForCluster: () => void = () => undefined;
  private readonly handlers: Array<(received: ReceivedBusMessage) => void> = [];
  private readonly reconnectHandlers: Array<() => void> = [];
  private subscribedOnce = false;

  constructor(
    private readonly publisher: Redis | Cluster,
    namespace: string,
  ) {
    this.channel = `${namespace}:__bus`;
    // Unlike the command connection, the subscriber may queue SUBSCRIBE until it is connected.
    this.subscriber = publisher.isCluster
      ? clusterNodeSubscriber(publisher as Cluster)
      : (publisher as Redis).duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.deliver(channel, payload));
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) for (const handler of this.reconnectHandlers) handler();
      this.subscribedOnce = true;
    });
    if (!publisher.isCluster) {
      this.subscriber.subscribe(this.channel).catch(() => undefined);
      return;
    }
    // The nodes of a Cluster are known once it is ready; the subscriber connects to one of them then.
    const cluster = publisher as Cluster;
    const start = () => {
      const node = clusterNode(cluster, 0);
      if (node) Object.assign(this.subscriber.options, node);
      this.subscriber.subscribe(this.channel).catch(() => undefined);
    };
    if (cluster.status === 'ready') {
      start();
      return;
    }
    cluster.once('ready', start);
    this.stopWaitingForCluster = () => cluster.off('ready', start);
  }

  /** Whether the subscriber connection is up (ioredis resubscribes the channel as it reconnects). */
  get subscribed(): boolean {
    return this.subscriber.status === 'ready';
  }

  async publish(message: BusMessage): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify({ from: this.instanceId, ...message }));
  }

  onMessage(handler: (received: ReceivedBusMessage) => void): void {
    this.handlers.push(handler);
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    this.reconnectHandlers.length = 0;
    this.stopWaitingForCluster();
    // While Redis is unreachable, QUIT would wait in the subscriber's offline queue forever and hang app.close().
    if (this.subscriber.status === 'ready') await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    else this.subscriber.disconnect();
  }

  private deliver(channel: Buffer, payload: Buffer): void {
    if (channel.toString() !== this.channel) return;
    let parsed: { from?: unknown; kind?: unknown; keys?: unknown; prefixes?: unknown; tags?: unknown };
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return; // not ours: ignore
    }
    const keys = strings(parsed.keys);
    let message: BusMessage;
    if (parsed.kind === 'filled') message = { kind: 'filled', keys };
    else if (parsed.kind === 'invalidate') message = { kind: 'invalidate', keys, prefixes: strings(parsed.prefixes), tags: strings(parsed.tags) };
    else return;
    const received: ReceivedBusMessage = { message, ownMessage: parsed.from === this.instanceId };
    for (const handler of this.handlers) handler(received);
  }
}

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * A subscriber connection to a node of `cluster` (lazy: it connects on its first SUBSCRIBE). Each reconnection
 * attempt goes to the next node the cluster knows of, so a node that is gone for good is left behind. The connector
 * of an ioredis `Redis` reads host and port from the client's options on every attempt, hence the assignment.
 */
function clusterNodeSubscriber(cluster: Cluster): Redis {
  let attempts = 0;
  const subscriber: Redis = new Redis({
    ...cluster.options.redisOptions,
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => {
      const node = clusterNode(cluster, ++attempts);
      if (node) Object.assign(subscriber.options, node);
      return Math.min(50 * 2 ** attempt, 1_000);
    },
  });
  return subscriber;
}

/** The address of the `index`-th node (round robin) among the cluster's known nodes, or undefined before it knows any. */
function clusterNode(cluster: Cluster, index: number): { host: string; port: number } | undefined {
  const nodes = cluster.nodes('all');
  if (nodes.length === 0) return undefined;
  const { host, port } = nodes[index % nodes.length].options;
  return { host: host ?? '127.0.0.1', port: port ?? 6379 };
}
