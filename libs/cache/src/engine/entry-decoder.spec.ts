import { DecodeError } from '../cache.errors';
import { JsonCodec } from '../serialization/json.codec';
import { MsgpackCodec } from '../serialization/msgpack.codec';
import { encodeEntry } from './cache-entry';
import { EntryDecoder } from './entry-decoder';

describe('EntryDecoder', () => {
  const value = () => ({ name: 'Ada', roles: ['reader'], joined: new Date(7), nested: { list: [1, 2] } });
  const entryOf = (held: unknown) => ({ value: held, freshUntil: 1_000, loadMs: 3 });
  let decoder: EntryDecoder;
  beforeEach(() => (decoder = new EntryDecoder()));

  it('decodes the same bytes of a key once, and gives every read an equal value of its own', () => {
    const codec = new JsonCodec();
    const decode = jest.spyOn(codec, 'decode');
    const bytes = encodeEntry(codec, entryOf(value()));
    const first = decoder.decode<ReturnType<typeof value>>('k', codec, bytes);
    first.value.roles.push('mutated by the first caller');
    first.value.joined.setTime(0);
    // A fresh Buffer with the same content, as every read from Redis is.
    const second = decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
    const third = decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
    expect(decode).toHaveBeenCalledTimes(1);
    expect(second).toEqual(entryOf(value()));
    expect(third).toEqual(entryOf(value()));
    expect(third.value).not.toBe(second.value);
    expect(third.value.nested).not.toBe(second.value.nested);
    expect(third.value.joined).not.toBe(second.value.joined);
  });

  it('decodes again when the bytes of the key changed, or for another key', () => {
    const codec = new JsonCodec();
    const decode = jest.spyOn(codec, 'decode');
    decoder.decode('k', codec, encodeEntry(codec, entryOf({ v: 1 })));
    expect(decoder.decode('k', codec, encodeEntry(codec, entryOf({ v: 2 }))).value).toEqual({ v: 2 });
    expect(decoder.decode('other', codec, encodeEntry(codec, entryOf({ v: 2 }))).value).toEqual({ v: 2 });
    expect(decode).toHaveBeenCalledTimes(3);
  });

  it('decodes every time with a codec that cannot copy values', () => {
    const codec = new MsgpackCodec();
    const decode = jest.spyOn(codec, 'decode');
    const bytes = encodeEntry(codec, entryOf(value()));
    const first = decoder.decode('k', codec, bytes);
    const second = decoder.decode('k', codec, bytes);
    expect(decode).toHaveBeenCalledTimes(2);
    expect(second).toEqual(first);
  });

  it('throws DecodeError for bad bytes, and does not mistake them for the remembered ones', () => {
    const codec = new JsonCodec();
    decoder.decode('k', codec, encodeEntry(codec, entryOf({ v: 1 })));
    expect(() => decoder.decode('k', codec, Buffer.from('{"v":1,'))).toThrow(DecodeError);
    expect(() => decoder.decode('k', codec, Buffer.from('"a foreign value"'))).toThrow(DecodeError);
  });
});
