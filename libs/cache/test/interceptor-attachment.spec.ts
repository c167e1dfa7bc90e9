import { Controller, Get, HttpCode, Injectable, Module, Param, Post } from '@nestjs/common';
import { Cacheable, CacheEvict, CacheInterceptor, WriteThrough } from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { cleanNamespace, rawRedis, redisUrl, uniqueNamespace } from './support/redis';

/**
 * The decorators attach CacheInterceptor to the handlers they decorate, and to no other route: an application's
 * uncached routes never pay for Nest's interceptor pipeline. A handler with several caching decorators passes through
 * it once, and a controller whose module does not import CacheModule is still served.
 */
const namespace = uniqueNamespace('attach');

@Injectable()
class Counter {
  calls = 0;
}

@Controller('plain')
class PlainController {
  @Get()
  ping() {
    return { pong: true };
  }
}

@Controller('notes')
class NotesController {
  constructor(private readonly counter: Counter) {}

  @Get(':id')
  @Cacheable({ key: 'note:{0}' })
  note(@Param('id') id: string) {
    this.counter.calls++;
    return { id, calls: this.counter.calls };
  }

  /** Two caching decorators on one handler: the interceptor must run once, not once per decorator. */
  @Post(':id')
  @HttpCode(200)
  @WriteThrough({ key: 'note:{0}' })
  @CacheEvict({ key: 'list' })
  save(@Param('id') id: string) {
    this.counter.calls++;
    return { id, calls: this.counter.calls };
  }
}

/** A feature module that does not import CacheModule (the root imports it, not as global). */
@Module({ controllers: [NotesController], providers: [Counter] })
class NotesModule {}

describe('CacheInterceptor attachment', () => {
  let fixture: CacheApp;
  let intercept: jest.SpyInstance;

  beforeAll(async () => {
    fixture = await createCacheApp({ cache: { redis: redisUrl(), namespace }, imports: [NotesModule], controllers: [PlainController] });
  });
  beforeEach(() => {
    intercept = jest.spyOn(CacheInterceptor.prototype, 'intercept');
  });
  afterEach(() => intercept.mockRestore());
  afterAll(async () => {
    const redis = rawRedis();
    await cleanNamespace(redis, namespace);
    redis.disconnect();
    await fixture?.close();
  });

  it('a route without caching decorators does not pass through the interceptor', async () => {
    await fixture.http().get('/plain').expect(200, { pong: true });
    expect(intercept).not.toHaveBeenCalled();
  });

  it('a decorated handler in a module that does not import CacheModule is cached', async () => {
    const first = await fixture.http().get('/notes/a').expect(200);
    const second = await fixture.http().get('/notes/a').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(intercept).toHaveBeenCalledTimes(2);
  });

  it('a handler with two caching decorators passes through the interceptor once per request', async () => {
    const saved = await fixture.http().post('/notes/b').expect(200);
    expect(intercept).toHaveBeenCalledTimes(1);
    const read = await fixture.http().get('/notes/b').expect(200);
    expect(read.headers['x-cache']).toBe('HIT'); // the write-through's entry
    expect(read.body).toEqual(saved.body);
  });
});
