import {
  type CallHandler,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Module,
  type NestInterceptor,
  Param,
  ParseIntPipe,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { map, type Observable, of } from 'rxjs';
import { Cacheable, CacheEvict, CacheModule, WriteThrough } from '@app/cache';
import { type CacheApp, createCacheApp, PLATFORMS } from './support/cache-app';
import { cleanNamespace, rawRedis, readEnvelope, redisUrl, scanKeys, uniqueNamespace } from './support/redis';

/**
 * Controller handlers are cached by wrapping the handler on the controller instance while modules are configured.
 * These tests pin what that design promises: undecorated routes are untouched; guards and pipes run before the
 * cache (keys come from validated, transformed arguments); the application's interceptors wrap the cached handler;
 * each handler runs once per request whatever the number of decorators; a controller is served by the CacheModule
 * its module imports, or the application's when it imports none; two applications in one process share the classes
 * but not their caches; calls that do not come through HTTP reach the original method.
 */

@Injectable()
class Counter {
  calls = 0;
}

/** Lets a request through only with `x-allowed: yes`. */
@Injectable()
class HeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-allowed'] === 'yes';
  }
}

/** Wraps whatever the handler returns in an envelope, as response-shaping interceptors do. */
@Injectable()
class EnvelopeInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data) => ({ data })));
  }
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
  note(@Param('id', ParseIntPipe) id: number) {
    this.counter.calls++;
    return { id, calls: this.counter.calls };
  }

  /** Two caching decorators on one handler: it must still run once per request. */
  @Post(':id')
  @HttpCode(200)
  @WriteThrough({ key: 'note:{0}' })
  @CacheEvict({ key: 'list' })
  save(@Param('id', ParseIntPipe) id: number) {
    this.counter.calls++;
    return { id, calls: this.counter.calls };
  }

  @Get(':id/guarded')
  @UseGuards(HeaderGuard)
  @Cacheable({ key: 'guarded:{0}' })
  guarded(@Param('id') id: string) {
    this.counter.calls++;
    return { id, secret: true };
  }

  /** Nest handlers may answer with an Observable: the cache stores its last value. */
  @Get(':id/observed')
  @Cacheable({ key: 'observed:{0}' })
  observed(@Param('id') id: string): Observable<{ id: string; calls: number }> {
    this.counter.calls++;
    return of({ id, calls: this.counter.calls });
  }

  @Get(':id/enveloped')
  @UseInterceptors(EnvelopeInterceptor)
  @Cacheable({ key: 'enveloped:{0}' })
  enveloped(@Param('id') id: string) {
    this.counter.calls++;
    return { id };
  }
}

/** A feature module that does not import CacheModule (the root imports it, not as global). */
@Module({ controllers: [NotesController], providers: [Counter] })
class NotesModule {}

/** GETs `path` twice and checks the first answer is a MISS, the second a HIT; resolves to both responses. */
async function missThenHit(fixture: CacheApp, path: string) {
  const miss = await fixture.http().get(path).expect(200);
  const hit = await fixture.http().get(path).expect(200);
  expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
  return { miss, hit };
}

describe.each(PLATFORMS)('cached route handlers on %s', (platform) => {
  const namespace = uniqueNamespace(`routes-${platform}`);
  let fixture: CacheApp;
  let counter: Counter;
  let redis: Redis;

  beforeAll(async () => {
    redis = rawRedis();
    fixture = await createCacheApp({ cache: { redis: redisUrl(), namespace }, imports: [NotesModule], controllers: [PlainController], platform });
    counter = fixture.get(Counter);
  });
  afterAll(async () => {
    await fixture?.close();
    await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  it('a route without caching decorators keeps its own handler and answers without X-Cache', async () => {
    expect(fixture.get(PlainController).ping).toBe(PlainController.prototype.ping);
    const response = await fixture.http().get('/plain').expect(200, { pong: true });
    expect(response.headers['x-cache']).toBeUndefined();
  });

  it('a decorated handler in a module that does not import CacheModule is cached', async () => {
    const before = counter.calls;
    const { miss, hit } = await missThenHit(fixture, '/notes/1');
    expect(hit.body).toEqual(miss.body);
    expect(counter.calls - before).toBe(1);
  });

  it('pipes run before the cache: the key is built from the transformed argument, and invalid input caches nothing', async () => {
    await fixture.http().get('/notes/2').expect(200);
    const padded = await fixture.http().get('/notes/002').expect(200);
    expect(padded.headers['x-cache']).toBe('HIT'); // ParseIntPipe made both 2
    expect(padded.body.id).toBe(2);
    const before = counter.calls;
    await fixture.http().get('/notes/two').expect(400);
    expect(counter.calls).toBe(before);
    expect((await scanKeys(redis, namespace)).filter((key) => key.includes('two'))).toEqual([]);
  });

  it('guards run before the cache: a cached entry is never served to a request the guard refuses', async () => {
    await fixture.http().get('/notes/3/guarded').set('x-allowed', 'yes').expect(200);
    const hit = await fixture.http().get('/notes/3/guarded').set('x-allowed', 'yes').expect(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    await fixture.http().get('/notes/3/guarded').expect(403);
  });

  it("the application's interceptors wrap the cached handler: the entry holds the handler's value, both answers the envelope", async () => {
    const { miss, hit } = await missThenHit(fixture, '/notes/4/enveloped');
    expect(miss.body).toEqual({ data: { id: '4' } });
    expect(hit.body).toEqual({ data: { id: '4' } });
    expect((await readEnvelope(redis, `${namespace}:enveloped:4`))?.v).toEqual({ id: '4' });
  });

  it('a handler that answers with an Observable is cached with its value, and runs once', async () => {
    const before = counter.calls;
    const { miss, hit } = await missThenHit(fixture, '/notes/9/observed');
    expect(hit.body).toEqual(miss.body);
    expect(miss.body.id).toBe('9');
    expect(counter.calls - before).toBe(1);
    expect((await readEnvelope(redis, `${namespace}:observed:9`))?.v).toEqual(miss.body);
  });

  it('a handler with two caching decorators runs once per request and applies both', async () => {
    await redis.set(`${namespace}:list`, 'stale');
    const before = counter.calls;
    const saved = await fixture.http().post('/notes/5').expect(200);
    expect(counter.calls - before).toBe(1);
    expect(await redis.exists(`${namespace}:list`)).toBe(0);
    const read = await fixture.http().get('/notes/5').expect(200);
    expect(read.headers['x-cache']).toBe('HIT'); // the write-through's entry
    expect(read.body).toEqual(saved.body);
  });

  it('a direct call of the handler (not through HTTP) runs the original method and caches nothing', async () => {
    const controller = fixture.get(NotesController);
    const first = controller.note(6);
    const second = controller.note(6);
    expect(second.calls).toBe(first.calls + 1);
    expect(await redis.exists(`${namespace}:note:6`)).toBe(0);
  });
});

describe('cached route handlers across caches and applications', () => {
  const rootNamespace = uniqueNamespace('routes-root');
  const featureNamespace = uniqueNamespace('routes-feature');
  const otherAppNamespace = uniqueNamespace('routes-other');
  let redis: Redis;
  const fixtures: CacheApp[] = [];

  beforeAll(() => {
    redis = rawRedis();
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((fixture) => fixture.close()));
    for (const namespace of [rootNamespace, featureNamespace, otherAppNamespace]) await cleanNamespace(redis, namespace);
    await redis.quit();
  });

  it('a controller is served by the CacheModule its own module imports, not the root one', async () => {
    @Module({ imports: [CacheModule.forRoot({ redis: redisUrl(), namespace: featureNamespace })], controllers: [NotesController], providers: [Counter] })
    class FeatureModule {}
    const fixture = await createCacheApp({ cache: { redis: redisUrl(), namespace: rootNamespace }, imports: [FeatureModule] });
    fixtures.push(fixture);
    await fixture.http().get('/notes/7').expect(200);
    expect(await redis.exists(`${featureNamespace}:note:7`)).toBe(1);
    expect(await redis.exists(`${rootNamespace}:note:7`)).toBe(0);
  });

  it('two applications in one process share the controller class but each caches in its own store', async () => {
    const first = await createCacheApp({ cache: { redis: redisUrl(), namespace: rootNamespace }, imports: [NotesModule] });
    const second = await createCacheApp({ cache: { redis: redisUrl(), namespace: otherAppNamespace }, imports: [NotesModule], platform: 'fastify' });
    fixtures.push(first, second);
    for (const fixture of [first, second]) await missThenHit(fixture, '/notes/8');
    expect(await redis.exists(`${rootNamespace}:note:8`, `${otherAppNamespace}:note:8`)).toBe(2);
  });
});
