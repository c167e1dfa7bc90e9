/**
 * Messages between the instances that share a store. They carry keys, never values: a receiver that needs the
 * value reads it from the store, so a lost or late message can cost a miss but never serve wrong data.
 */
export type BusMessage =
  /** A value landed in the store for these keys: wake whoever waits for them. */
  | { readonly kind: 'filled'; readonly keys: readonly string[] }
  /** These keys, every key under these prefixes, and every entry with these tags changed: drop in-process copies. */
  | {
      readonly kind: 'invalidate';
      readonly keys: readonly string[];
      readonly prefixes: readonly string[];
      readonly tags?: readonly string[];
    };

/** A message with the instance it came from. */
export interface ReceivedBusMessage {
  readonly message: BusMessage;
  /** True when this instance sent it. */
  readonly ownMessage: boolean;
}

/** Cross-instance messaging. Delivery is at most once: every user of the bus must tolerate lost messages. */
export interface CacheBus {
  /** Whether messages from other instances can arrive now (subscribed and connected); always true in-process. */
  readonly subscribed: boolean;
  publish(message: BusMessage): Promise<void>;
  /** Registers a handler for every message, this instance's own included (flagged). */
  onMessage(handler: (received: ReceivedBusMessage) => void): void;
  /**
   * Registers a handler for when the bus reconnects after a drop: messages sent meanwhile are lost, so whoever keeps
   * copies that the bus invalidates must drop or revalidate them.
   */
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}
