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

  it('copies rather than decodes the same bytes of a key from its third read on, and gives every read an equal value of its own', () => {
    const codec = new JsonCodec();
    const decode = jest.spyOn(codec, 'decode');
    const bytes = encodeEntry(codec, entryOf(value()));
    // Each read changes its value as soon as it has it, and gets a fresh Buffer with the same content (as from Redis).
    const reads = Array.from({ length: 4 }, (_, read) => {
      const got = decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
      const unchanged = structuredClone(got);
      got.value.roles.push(`mutated by read ${read}`);
      got.value.joined.setTime(read);
      return unchanged;
    });
    expect(decode).toHaveBeenCalledTimes(2);
    for (const got of reads) expect(got).toEqual(entryOf(value()));
  });

  it('makes the copy of a prepared read ahead of it: the read then copies nothing, and gets a value of its own', async () => {
    const codec = new JsonCodec();
    const clone = jest.spyOn(codec, 'clone');
    const bytes = encodeEntry(codec, entryOf(value()));
    decoder.decode('k', codec, bytes);
    decoder.decode('k', codec, bytes); // kept from here on
    clone.mockClear();
    decoder.prepareCopy('k', codec, true); // a shared read takes the frozen value: nothing to prepare
    await Promise.resolve();
    expect(clone).not.toHaveBeenCalled();
    decoder.prepareCopy('k', codec, false);
    decoder.prepareCopy('k', codec, false); // a copy is waiting already: not a second one
    expect(clone).not.toHaveBeenCalled(); // made once the reactions already queued have run
    await Promise.resolve();
    expect(clone).toHaveBeenCalledTimes(1);
    const prepared = decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
    expect(clone).toHaveBeenCalledTimes(1);
    expect(prepared).toEqual(entryOf(value()));
    expect(Object.isFrozen(prepared.value)).toBe(false);
    prepared.value.roles.push('mutated');
    // The prepared copy goes to one read only: the next is copied again, from the intact remembered value.
    const next = decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
    expect(clone).toHaveBeenCalledTimes(2);
    expect(next).toEqual(entryOf(value()));
  });

  it("copies a value that proved hot with the codec's compiled copier, asked for once", () => {
    const codec = new JsonCodec();
    const clone = jest.spyOn(codec, 'clone');
    const copier = jest.spyOn(codec, 'copier');
    const bytes = encodeEntry(codec, entryOf(value()));
    const read = () => decoder.decode<ReturnType<typeof value>>('k', codec, Buffer.from(bytes));
    for (let copy = 0; copy < 40; copy++) read();
    expect(copier).toHaveBeenCalledTimes(1);
    const clonesSoFar = clone.mock.calls.length;
    const copies = Array.from({ length: 10 }, read);
    expect(clone).toHaveBeenCalledTimes(clonesSoFar);
    expect(new Set(copies.map((copy) => copy.value)).size).toBe(10);
    copies[0].value.nested.list.push(3);
    expect(read()).toEqual(entryOf(value()));
    // Callers who share a read of those bytes get copies the same way.
    const shared = decoder.copyOf<ReturnType<typeof value>>('k', codec, Buffer.from(bytes), copies[1].value);
    expect(clone).toHaveBeenCalledTimes(clonesSoFar);
    expect(shared?.value).toEqual(value());
  });

  it('does not hand a prepared copy to a read whose bytes changed', async () => {
    const codec = new JsonCodec();
    const first = encodeEntry(codec, entryOf({ v: 1 }));
    decoder.decode('k', codec, first);
    decoder.decode('k', codec, first);
    decoder.prepareCopy('k', codec, false);
    await Promise.resolve();
    expect(decoder.decode('k', codec, encodeEntry(codec, entryOf({ v: 2 }))).value).toEqual({ v: 2 });
    expect(decoder.decode('k', codec, first).value).toEqual({ v: 1 });
  });

  it('keeps no copy for a key read once', () => {
    const codec = new JsonCodec();
    const clone = jest.spyOn(codec, 'clone');
    for (let key = 0; key < 10; key++) decoder.decode(`k${key}`, codec, encodeEntry(codec, entryOf({ key })));
    expect(clone).not.toHaveBeenCalled();
  });

  it('decodes again when the bytes of the key changed, or for another key', () => {
    const codec = new JsonCodec();
    const decode = jest.spyOn(codec, 'decode');
    const first = encodeEntry(codec, entryOf({ v: 1 }));
    decoder.decode('k', codec, first);
    decoder.decode('k', codec, first); // kept from here on
    expect(decoder.decode('k', codec, encodeEntry(codec, entryOf({ v: 2 }))).value).toEqual({ v: 2 });
    expect(decoder.decode('other', codec, encodeEntry(codec, entryOf({ v: 1 }))).value).toEqual({ v: 1 });
    expect(decode).toHaveBeenCalledTimes(4);
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
