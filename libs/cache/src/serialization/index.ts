export type { CacheCodec } from './codec.interface';
export { JsonCodec } from './json.codec';
export { MsgpackCodec } from './msgpack.codec';
export { resolveCodec } from './resolve-codec';
