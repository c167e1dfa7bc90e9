import type { BusMessage, CacheBus, ReceivedBusMessage } from './cache-bus.interface';

/** The bus of a single process (in-process store): messages go straight to this process's handlers. */
export class LocalBus implements CacheBus {
  private readonly handlers: Array<(received: ReceivedBusMessage) => void> = [];

  /** Always true: an in-process bus has nothing to connect to. */
  readonly subscribed = true;

  async publish(message: BusMessage): Promise<void> {
    for (const handler of this.handlers) handler({ message, ownMessage: true });
  }

  onMessage(handler: (received: ReceivedBusMessage) => void): void {
    this.handlers.push(handler);
  }

  onReconnect(): void {
    // An in-process bus never drops.
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
  }
}
