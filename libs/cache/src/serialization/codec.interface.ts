/**
 * Turns values into bytes and back. A codec throws when it cannot encode a value (the value is then not cached)
 * and when bytes are not its own (the entry is then a miss and is deleted).
 */
export interface CacheCodec {
  /** Short stable name, used in logs and errors. */
  readonly name: string;
  encode(value: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}
