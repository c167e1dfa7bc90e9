/**
 * Turns values into bytes and back. A codec throws when it cannot encode a value (the value is then not cached)
 * and when bytes are not its own (the entry is then a miss and is deleted).
 */
export interface CacheCodec {
  /** Short stable name, used in logs and errors. */
  readonly name: string;
  encode(value: unknown): Buffer;
  decode(bytes: Buffer): unknown;
  /**
   * Optional: a deep copy of a value this codec's {@link decode} returned, equal to what decoding the same bytes
   * again would return and sharing no object with it. Callers of one key that share a read each get their own
   * copy; where this is cheaper than decoding, they get it from here. Without it, each copy is decoded.
   */
  clone?(decoded: unknown): unknown;
  /**
   * Optional: a function that makes copies like {@link clone} of one decoded value, faster per copy but costly to
   * make (for values that are copied many times). Undefined when the codec cannot make one for this value.
   */
  copier?(decoded: unknown): (() => unknown) | undefined;
}
