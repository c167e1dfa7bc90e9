/**
 * One HTTP server of the hit benchmark, on Fastify, in its own process (started by hit.bench.ts; the variant in
 * HIT_HTTP). GET /item/:id answers the same ~1 KB JSON body in every variant:
 * - `static`: a plain handler returning a constant object (the ceiling: no cache, no Redis);
 * - `static-param`: the same constant behind the cached routes' shape, an async handler with an `@Param`: what that
 *   shape costs by itself;
 * - `ours-l2` / `ours-l1`: a @Cacheable controller handler (Redis hit / L1 hit); `ours-l2-immutable`: the Redis hit
 *   with the policy's `immutable: true` (hits share one frozen value instead of a copy each);
 * - `raw-ioredis`: a hand-written cache-aside read in the handler with one ioredis client (GET and JSON.parse; SET on a
 *   miss): the floor of any cache that reads Redis on every request, the HTTP counterpart of the calls' raw row;
 * - `nest-interceptor`: Nest's CacheInterceptor (@nestjs/cache-manager, cache-manager 7) with the Keyv Redis store;
 * - `interceptor-floor`: the handler of `ours-*` behind an interceptor that answers the constant body without calling
 *   it: what Nest's interceptor pipeline costs by itself, the floor of any cache that works as an interceptor (ours
 *   does not: it wraps the handler).
 * Sends `{ port }` over IPC once listening (after one request per id has filled the cache); answers 'cpu' with its
 * process.cpuUsage(); exits on 'exit'.
 */
import 'reflect-metadata';
import { type CallHandler, Controller, type DynamicModule, Get, Inject, Injectable, Module, type NestInterceptor, type OnModuleDestroy, Param, type Provider, type Type, UseInterceptors } from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost, NestFactory, Reflector } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Observable, of } from 'rxjs';
import { Cacheable, CacheModule } from '@app/cache';
import { peerRequire } from '../support/peers';
import { type HitClient, hitContender } from './contenders';
import { payload } from './payload';

export type HttpVariant = 'static' | 'static-param' | 'ours-l2' | 'ours-l2-immutable' | 'ours-l1' | 'raw-ioredis' | 'nest-interceptor' | 'interceptor-floor';
export interface HttpChildConfig {
  variant: HttpVariant;
  redisUrl: string;
  prefix: string;
  keys: number;
}

const TTL_MS = 10 * 60_000;
const STATIC_BODY = payload(1);

@Controller()
class StaticController {
  @Get('item/:id')
  item() {
    return STATIC_BODY;
  }
}

@Controller()
class StaticParamController {
  @Get('item/:id')
  async item(@Param('id') _id: string) {
    return STATIC_BODY;
  }
}

@Controller()
class OursController {
  @Get('item/:id')
  @Cacheable({ key: 'item:{0}', policy: 'items' })
  item(@Param('id') id: string) {
    return payload(Number(id));
  }
}

@Controller()
class PlainController {
  @Get('item/:id')
  item(@Param('id') id: string) {
    return payload(Number(id));
  }
}

/** The raw variant's client: the calls benchmark's raw ioredis contender (GET + JSON.parse, SET on a miss). */
const RAW_CLIENT = 'RAW_CLIENT';

@Controller()
class RawRedisController implements OnModuleDestroy {
  constructor(@Inject(RAW_CLIENT) private readonly raw: HitClient) {}

  @Get('item/:id')
  item(@Param('id') id: string) {
    return this.raw.get(Number(id));
  }

  onModuleDestroy(): Promise<void> {
    return this.raw.close();
  }
}

/** Answers every request with the constant body, as a cache hit would, without reading anything. */
@Injectable()
class ConstantAnswerInterceptor implements NestInterceptor {
  intercept(_context: unknown, _next: CallHandler): Observable<unknown> {
    return of(STATIC_BODY);
  }
}

/** PlainController's route behind the interceptor. */
@Controller()
@UseInterceptors(ConstantAnswerInterceptor)
class InterceptedController extends PlainController {}

function moduleFor(config: HttpChildConfig): { imports: DynamicModule[]; controllers: Type[]; providers: Provider[] } {
  switch (config.variant) {
    case 'static':
      return { imports: [], controllers: [StaticController], providers: [] };
    case 'static-param':
      return { imports: [], controllers: [StaticParamController], providers: [] };
    case 'interceptor-floor':
      return { imports: [], controllers: [InterceptedController], providers: [] };
    case 'ours-l2':
    case 'ours-l2-immutable':
    case 'ours-l1': {
      const l1 = config.variant === 'ours-l1';
      const immutable = config.variant === 'ours-l2-immutable';
      const cache = CacheModule.forRoot({ redis: config.redisUrl, namespace: config.prefix, policies: { items: { ttl: TTL_MS, earlyRefreshBeta: 0, l1, immutable } } });
      return { imports: [cache], controllers: [OursController], providers: [] };
    }
    case 'raw-ioredis':
      return { imports: [], controllers: [RawRedisController], providers: [{ provide: RAW_CLIENT, useFactory: () => hitContender('raw').open(config) }] };
    case 'nest-interceptor': {
      // The module and Keyv come from bench/peers; the interceptor is built by hand with this app's Reflector and
      // HttpAdapterHost, because its constructor's parameter types are bench/peers' copies of @nestjs/core classes.
      const { CacheModule: PeerCacheModule, CACHE_MANAGER, CacheInterceptor } = peerRequire('@nestjs/cache-manager');
      const { Keyv } = peerRequire('keyv');
      const KeyvRedis = peerRequire('@keyv/redis').default;
      const store = new Keyv({ store: new KeyvRedis(config.redisUrl), namespace: config.prefix });
      const interceptor: Provider = {
        provide: APP_INTERCEPTOR,
        inject: [CACHE_MANAGER, Reflector, HttpAdapterHost],
        useFactory: (manager: unknown, reflector: Reflector, host: HttpAdapterHost) => Object.assign(new CacheInterceptor(manager, reflector), { httpAdapterHost: host }),
      };
      return { imports: [PeerCacheModule.register({ stores: [store], ttl: TTL_MS })], controllers: [PlainController], providers: [interceptor] };
    }
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.HIT_HTTP ?? '') as HttpChildConfig;
  const parts = moduleFor(config);
  @Module(parts)
  class HttpBenchModule {}
  const app = await NestFactory.create<NestFastifyApplication>(HttpBenchModule, new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  for (let id = 0; id < config.keys; id++) {
    const response = await fetch(`http://127.0.0.1:${port}/item/${id}`);
    if (response.status !== 200) throw new Error(`GET /item/${id}: ${response.status}`);
    await response.arrayBuffer();
  }
  process.send?.({ port });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'cpu') process.send?.({ cpu: process.cpuUsage() });
    if (message.type === 'exit') void app.close().finally(() => process.exit(0));
  });
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
