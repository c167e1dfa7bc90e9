import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { BusMessage, CacheBus, ReceivedBusMessage } from './cache-bus.interface';

/**
 * The bus over Redis pub/sub: one channel per namespace, published on the shared connection and received on a
 * dedicated subscriber connection (a subscribed connection can issue no other command). ioredis resubscribes after
 * a reconnect; messages published while this instance was disconnected are lost, which users of the bus tolerate.
 */
export class RedisBus implements CacheBus {
  private readonly instanceId = randomUUID();
  private readonly channel: string;
  private readonly subscriber: Redis | Cluster;
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
      ? (publisher as Cluster).duplicate(undefined, { enableOfflineQueue: true })
      : (publisher as Redis).duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('messageBuffer', (channel: Buffer, payload: Buffer) => this.deliver(channel, payload));
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) for (const handler of this.reconnectHandlers) handler();
      this.subscribedOnce = true;
    });
    this.subscriber.subscribe(this.channel).catch(() => undefined);
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
    // While Redis is unreachable, QUIT would wait in the subscriber's offline queue forever and hang app.close().
    if (this.subscriber.status === 'ready') await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    else this.subscriber.disconnect();
  }

  private deliver(channel: Buffer, payload: Buffer): void {
    if (channel.toString() !== this.channel) return;
    let parsed: { from?: unknown; kind?: unknown; keys?: unknown; prefixes?: unknown };
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return; // not ours: ignore
    }
    const keys = strings(parsed.keys);
    let message: BusMessage;
    if (parsed.kind === 'filled') message = { kind: 'filled', keys };
    else if (parsed.kind === 'invalidate') message = { kind: 'invalidate', keys, prefixes: strings(parsed.prefixes) };
    else return;
    const received: ReceivedBusMessage = { message, ownMessage: parsed.from === this.instanceId };
    for (const handler of this.handlers) handler(received);
  }
}

function strings(list: unknown): string[] {
  return Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : [];
}
