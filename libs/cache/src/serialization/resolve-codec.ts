import type { CodecOption } from '../options/cache-options.interface';
import { InvalidOptionsError } from '../cache.errors';
import type { CacheCodec } from './codec.interface';
import { JsonCodec } from './json.codec';
import { MsgpackCodec } from './msgpack.codec';

const BUILT_IN: Record<string, () => CacheCodec> = { json: () => new JsonCodec(), msgpack: () => new MsgpackCodec() };

/** Turns a codec option into a codec instance; fails with the option's path when it is neither. */
export function resolveCodec(option: CodecOption, path: string): CacheCodec {
  if (typeof option === 'string') {
    const create = BUILT_IN[option];
    if (!create) throw new InvalidOptionsError(path, `names unknown codec "${option}" (use 'json', 'msgpack' or a codec object)`);
    return create();
  }
  if (option && typeof option.encode === 'function' && typeof option.decode === 'function') return option;
  throw new InvalidOptionsError(path, 'must be \'json\', \'msgpack\' or an object with encode() and decode()');
}
