import { Logger } from '@nestjs/common';
import type { CacheStore } from '../stores/cache-store.interface';
import { StoreGuard } from './store-guard';

/** A call that settles when told to, so the order of outcomes around the breaker is exact. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

describe('StoreGuard breaker', () => {
  const store = { name: 'fake' } as CacheStore;
  let logger: { error: jest.Mock; log: jest.Mock };
  let guard: StoreGuard;
  const fail = () => Promise.reject(new Error('down'));

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    logger = { error: jest.fn(), log: jest.fn() };
    guard = new StoreGuard(store, logger as unknown as Logger, { readTimeoutMs: 100, writeTimeoutMs: 250, failureThreshold: 5, coolDownMs: 1_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('opens after 5 consecutive failures and logs once', async () => {
    for (let i = 0; i < 7; i++) await guard.read('get', fail, undefined);
    expect(guard.breakerState).toBe('open');
    expect(logger.error).toHaveBeenCalledTimes(1);
  });

  it('a call admitted before the breaker opened does not close it when it succeeds late: only the probe does', async () => {
    const slow = deferred<string>();
    const late = guard.write('set', () => slow.promise, 'fallback');
    for (let i = 0; i < 5; i++) await guard.read('get', fail, undefined);
    expect(guard.breakerState).toBe('open');

    slow.resolve('ok'); // answered within its timeout, but it was sent before the outage was noticed
    await expect(late).resolves.toBe('ok');
    expect(guard.breakerState).toBe('open');
    expect(logger.log).not.toHaveBeenCalled();
    await expect(guard.read('get', () => Promise.resolve('skipped?'), 'skipped')).resolves.toBe('skipped');

    jest.advanceTimersByTime(1_000);
    await expect(guard.read('get', () => Promise.resolve('probe'), undefined)).resolves.toBe('probe');
    expect(guard.breakerState).toBe('closed');
    expect(logger.log).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledTimes(1);
  });

  it('a failing probe reopens the breaker for another cool-down, without another log line', async () => {
    for (let i = 0; i < 5; i++) await guard.read('get', fail, undefined);
    jest.advanceTimersByTime(1_000);
    await guard.read('get', fail, undefined);
    expect(guard.breakerState).toBe('open');
    await expect(guard.read('get', () => Promise.resolve('x'), 'skipped')).resolves.toBe('skipped');
    jest.advanceTimersByTime(1_000);
    await guard.read('get', () => Promise.resolve('x'), undefined);
    expect(guard.breakerState).toBe('closed');
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.log).toHaveBeenCalledTimes(1);
  });

  it('while the probe is in flight, a late failure of an older call neither reopens nor delays anything', async () => {
    const older = deferred<string>();
    const olderCall = guard.write('set', () => older.promise.then(() => Promise.reject(new Error('late failure'))), 'fallback');
    for (let i = 0; i < 5; i++) await guard.read('get', fail, undefined);
    jest.advanceTimersByTime(1_000);
    const probe = deferred<string>();
    const probeCall = guard.read('get', () => probe.promise, undefined);
    expect(guard.breakerState).toBe('half-open');
    older.resolve('');
    await expect(olderCall).resolves.toBe('fallback');
    expect(guard.breakerState).toBe('half-open');
    probe.resolve('ok');
    await expect(probeCall).resolves.toBe('ok');
    expect(guard.breakerState).toBe('closed');
  });

  it('a call that does not answer within its timeout resolves to the fallback, counts as a failure, and its late answer is ignored', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['setImmediate'] });
    const hung = deferred<string>();
    const read = guard.read('get', () => hung.promise, 'fallback');
    const write = guard.write('set', () => new Promise<string>(() => undefined), 'not written');
    let settled: string | undefined;
    void read.then((value) => (settled = value));

    jest.advanceTimersByTime(99);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBeUndefined();
    jest.advanceTimersByTime(1);
    await expect(read).resolves.toBe('fallback');
    hung.resolve('late');
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe('fallback');

    // Writes have their own, longer timeout; both failures count towards the breaker.
    jest.advanceTimersByTime(150);
    await expect(write).resolves.toBe('not written');
    for (let i = 0; i < 3; i++) await guard.read('get', fail, undefined);
    expect(guard.breakerState).toBe('open');
  });
});
