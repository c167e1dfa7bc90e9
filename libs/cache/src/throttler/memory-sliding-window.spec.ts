import { MemorySlidingWindow } from './memory-sliding-window';

/** The in-process window on a hand-driven clock: the edges are exact to the millisecond. */
describe('MemorySlidingWindow', () => {
  const keys = { hits: 'ns:throttle:default:{client}', block: 'ns:throttle:default:{client}:block' };
  let now = 0;
  let window: MemorySlidingWindow;
  beforeEach(() => {
    now = 1_000;
    window = new MemorySlidingWindow(() => now);
  });
  afterEach(() => window.close());

  it('allows `limit` hits per window and frees a slot exactly when the oldest hit leaves it', async () => {
    for (const at of [1_000, 1_100, 1_200]) {
      now = at;
      expect(await window.hit(keys, 500, 3, 0)).toMatchObject({ allowed: true });
    }
    now = 1_499;
    expect(await window.hit(keys, 500, 3, 0)).toEqual({ allowed: false, hits: 4, resetMs: 1, retryMs: 1 });
    now = 1_500; // the hit at 1,000 is out: (1,000, 1,500] holds 1,100 and 1,200
    expect(await window.hit(keys, 500, 3, 0)).toEqual({ allowed: true, hits: 3, resetMs: 100, retryMs: 0 });
    expect(await window.hit(keys, 500, 3, 0)).toMatchObject({ allowed: false, retryMs: 100 });
  });

  it('blocks for blockDuration once refused, without counting the blocked hits', async () => {
    for (let i = 0; i < 2; i++) await window.hit(keys, 500, 2, 0);
    expect(await window.hit(keys, 500, 2, 2_000)).toMatchObject({ allowed: false, retryMs: 2_000 });
    now += 1_000; // the window is empty again, but the block holds
    expect(await window.hit(keys, 500, 2, 2_000)).toMatchObject({ allowed: false, hits: 1, retryMs: 1_000 });
    now += 1_000;
    expect(await window.hit(keys, 500, 2, 2_000)).toMatchObject({ allowed: true, hits: 1 });
  });

  it('keeps clients apart', async () => {
    const other = { hits: 'ns:throttle:default:{other}', block: 'ns:throttle:default:{other}:block' };
    await window.hit(keys, 500, 1, 0);
    expect(await window.hit(keys, 500, 1, 0)).toMatchObject({ allowed: false });
    expect(await window.hit(other, 500, 1, 0)).toMatchObject({ allowed: true });
  });
});
