import { Deadlines } from './deadlines';

describe('Deadlines', () => {
  let deadlines: Deadlines;
  let expired: string[];
  const start = (name: string, timeoutMs: number) => deadlines.start(timeoutMs, () => expired.push(name));
  /** The setImmediate callbacks queued so far (it is left real: the fake clock does not run it in step). */
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  /** Moves the fake clock, then lets the setImmediate that delivers expiries run. */
  const advance = async (ms: number) => {
    jest.advanceTimersByTime(ms);
    await nextTurn();
  };

  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    deadlines = new Deadlines();
    expired = [];
  });
  afterEach(() => jest.useRealTimers());

  it('expires each call at its own deadline, though they share one timer', async () => {
    start('first', 100);
    jest.advanceTimersByTime(60);
    start('second', 100);
    jest.advanceTimersByTime(39);
    expect(expired).toEqual([]);
    await advance(1);
    expect(expired).toEqual(['first']);
    jest.advanceTimersByTime(59);
    expect(expired).toEqual(['first']);
    await advance(1);
    expect(expired).toEqual(['first', 'second']);
  });

  it('never expires a cancelled call, and keeps timing the others', async () => {
    const first = start('first', 100);
    jest.advanceTimersByTime(10);
    start('second', 100);
    deadlines.cancel(first);
    await advance(100);
    expect(expired).toEqual(['second']);
  });

  it('never expires a cancelled call queued behind one still pending, which expires on time', async () => {
    start('first', 100);
    const second = start('second', 100);
    deadlines.cancel(second);
    await advance(100);
    expect(expired).toEqual(['first']);
    await advance(100);
    expect(expired).toEqual(['first']);
  });

  it('does not expire a call cancelled after its timer fired but before the expiry was delivered', async () => {
    const call = start('call', 100);
    jest.advanceTimersByTime(100);
    deadlines.cancel(call); // its reply was read in the same turn of the event loop
    await nextTurn();
    expect(expired).toEqual([]);
  });

  it('times each duration on its own', async () => {
    start('slow', 250);
    start('fast', 50);
    await advance(50);
    expect(expired).toEqual(['fast']);
    await advance(200);
    expect(expired).toEqual(['fast', 'slow']);
  });

  it('delivers expiries from a setImmediate, after the I/O of the turn their timer fired in', async () => {
    start('call', 100);
    jest.advanceTimersByTime(100);
    expect(expired).toEqual([]);
    await nextTurn();
    expect(expired).toEqual(['call']);
  });

  it('does not keep the process alive', () => {
    jest.useRealTimers();
    const unref = jest.spyOn(global, 'setTimeout');
    new Deadlines().start(60_000, () => undefined);
    const timer = unref.mock.results[0].value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
    unref.mockRestore();
  });
});
