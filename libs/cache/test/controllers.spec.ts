import {
  Body,
  Controller,
  createParamDecorator,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import type Redis from 'ioredis';
import { Cacheable, CacheEvict, WriteThrough } from '@app/cache';
import { type CacheApp, PLATFORMS, startCacheSuite, stopCacheSuite } from './support/cache-app';
import { readEnvelope, scanKeys, uniqueNamespace } from './support/redis';

/** The signed-in user, from a header (standing in for an auth guard). */
const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
  return request.headers['x-user'] ?? 'anonymous';
});

@Injectable()
class ArticleStore {
  readonly handlerCalls: Record<string, number> = {};
  readonly articles = new Map<string, { id: string; title: string }>([
    ['1', { id: '1', title: 'First' }],
    ['2', { id: '2', title: 'Second' }],
  ]);
  count(name: string) {
    this.handlerCalls[name] = (this.handlerCalls[name] ?? 0) + 1;
  }
}

@Controller('articles')
class ArticlesController {
  constructor(private readonly store: ArticleStore) {}

  @Get('mine/feed')
  @Cacheable({ key: (user: string, page: string | undefined) => ['feed', user, page ?? '1'], policy: 'http' })
  feed(@CurrentUser() user: string, @Query('page') page?: string) {
    this.store.count('feed');
    return { user, page: page ?? '1', items: [`for ${user}`] };
  }

  @Get(':id')
  @Cacheable({ key: 'article:{0}:{1}', policy: 'http' })
  article(@Param('id') id: string, @Query('lang') lang?: string) {
    this.store.count('article');
    const article = this.store.articles.get(id);
    return { ...article, lang: lang ?? 'en' };
  }

  @Post(':id/publish')
  @HttpCode(200)
  @CacheEvict({ allEntries: 'article:{0}' })
  publish(@Param('id') id: string) {
    this.store.count('publish');
    return { published: id };
  }

  @Put(':id')
  @WriteThrough({ key: 'article:{0}:en', policy: 'http', value: (result: { article: unknown }) => result.article })
  update(@Param('id') id: string, @Body() body: { title: string }) {
    this.store.count('update');
    const article = { id, title: body.title };
    this.store.articles.set(id, article);
    return { saved: true, article: { ...article, lang: 'en' } };
  }

  @Get('plain/ping')
  ping() {
    return { pong: true };
  }
}

describe.each(PLATFORMS)('controllers on %s', (platform) => {
  const namespace = uniqueNamespace(`controllers-${platform}`);
  let fixture: CacheApp;
  let redis: Redis;
  let store: ArticleStore;
  const key = (relative: string) => `${namespace}:${relative}`;

  beforeAll(async () => {
    ({ fixture, redis } = await startCacheSuite(namespace, {
      cache: { policies: { http: { ttl: '1m' } } },
      providers: [ArticleStore],
      controllers: [ArticlesController],
      platform,
    }));
    store = fixture.get(ArticleStore);
  });
  afterAll(() => stopCacheSuite(namespace, { fixture, redis }));

  it('answers MISS, then HIT with the same body, without running the handler again', async () => {
    const first = await fixture.http().get('/articles/1?lang=fr').expect(200);
    const second = await fixture.http().get('/articles/1?lang=fr').expect(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.body).toEqual({ id: '1', title: 'First', lang: 'fr' });
    expect(second.body).toEqual(first.body);
    expect(store.handlerCalls.article).toBe(1);
  });

  it('builds keys from @Param and @Query: other values are other entries', async () => {
    const before = store.handlerCalls.article ?? 0;
    expect((await fixture.http().get('/articles/1?lang=de')).headers['x-cache']).toBe('MISS');
    expect((await fixture.http().get('/articles/2?lang=fr')).headers['x-cache']).toBe('MISS');
    expect((await fixture.http().get('/articles/2?lang=fr')).body).toMatchObject({ id: '2', lang: 'fr' });
    expect(store.handlerCalls.article).toBe(before + 2);
    const keys = await scanKeys(redis, namespace);
    expect(keys).toEqual(expect.arrayContaining([key('article:1:fr'), key('article:1:de'), key('article:2:fr')]));
  });

  it('two users never share an entry (custom @CurrentUser param decorator in the key)', async () => {
    const alice1 = await fixture.http().get('/articles/mine/feed').set('x-user', 'alice');
    const bob1 = await fixture.http().get('/articles/mine/feed').set('x-user', 'bob');
    const alice2 = await fixture.http().get('/articles/mine/feed').set('x-user', 'alice');
    const bob2 = await fixture.http().get('/articles/mine/feed').set('x-user', 'bob');
    expect([alice1, bob1, alice2, bob2].map((response) => response.headers['x-cache'])).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
    expect(alice2.body).toEqual({ user: 'alice', page: '1', items: ['for alice'] });
    expect(bob2.body).toEqual({ user: 'bob', page: '1', items: ['for bob'] });
    expect(store.handlerCalls.feed).toBe(2);
    expect(await redis.exists(key('feed:alice:1'), key('feed:bob:1'))).toBe(2);
    const page2 = await fixture.http().get('/articles/mine/feed?page=2').set('x-user', 'alice');
    expect(page2.headers['x-cache']).toBe('MISS');
  });

  it('@CacheEvict on a POST handler deletes the group, so the next GET is a MISS', async () => {
    await fixture.http().get('/articles/2?lang=en');
    expect((await fixture.http().get('/articles/2?lang=en')).headers['x-cache']).toBe('HIT');
    await fixture.http().post('/articles/2/publish').expect(200, { published: '2' });
    expect(await scanKeys(redis, `${namespace}:article:2`)).toEqual([]);
    expect(await redis.exists(key('article:1:fr'))).toBe(1);
    expect((await fixture.http().get('/articles/2?lang=en')).headers['x-cache']).toBe('MISS');
  });

  it('@WriteThrough on a PUT handler caches the new value, so the next GET is a HIT with it', async () => {
    await fixture.http().get('/articles/1?lang=en');
    const response = await fixture.http().put('/articles/1').send({ title: 'Renamed' }).expect(200);
    expect(response.body).toEqual({ saved: true, article: { id: '1', title: 'Renamed', lang: 'en' } });
    expect(response.headers['x-cache']).toBeUndefined();
    expect((await readEnvelope(redis, key('article:1:en')))?.v).toEqual({ id: '1', title: 'Renamed', lang: 'en' });
    const before = store.handlerCalls.article;
    const read = await fixture.http().get('/articles/1?lang=en');
    expect(read.headers['x-cache']).toBe('HIT');
    expect(read.body).toEqual({ id: '1', title: 'Renamed', lang: 'en' });
    expect(store.handlerCalls.article).toBe(before);
  });

  it('leaves handlers without caching decorators alone (no X-Cache header)', async () => {
    const response = await fixture.http().get('/articles/plain/ping').expect(200);
    expect(response.body).toEqual({ pong: true });
    expect(response.headers['x-cache']).toBeUndefined();
  });
});
