import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Cacheable, CacheModule, CacheService } from '@app/cache';

let calls = 0;
@Injectable()
class Svc {
  @Cacheable({ key: 'thing:{0}', policy: 'p' })
  async find(id: string) {
    calls++;
    return { id, at: new Date(1000) };
  }
}
@Controller('t')
class Ctl {
  constructor(private readonly svc: Svc) {}
  @Get(':id')
  @Cacheable({ key: (id: string) => ['h', id], policy: 'p' })
  get(@Param('id') id: string) {
    calls++;
    return { id };
  }
}

it('smoke', async () => {
  const mod = await Test.createTestingModule({
    imports: [CacheModule.forRoot({ redis: process.env.REDIS_URL, namespace: 'smoke', policies: { p: { ttl: '1m' } } })],
    providers: [Svc],
    controllers: [Ctl],
  }).compile();
  const app = mod.createNestApplication();
  await app.init();
  const cache = app.get(CacheService);
  await cache.clear();
  const svc = app.get(Svc);
  const a = await svc.find('x');
  const b = await svc.find('x');
  expect(calls).toBe(1);
  expect(b).toEqual(a);
  expect(b.at).toBeInstanceOf(Date);
  const r1 = await request(app.getHttpServer()).get('/t/5');
  const r2 = await request(app.getHttpServer()).get('/t/5');
  expect(r1.headers['x-cache']).toBe('MISS');
  expect(r2.headers['x-cache']).toBe('HIT');
  expect(r2.body).toEqual({ id: '5' });
  expect(await cache.remainingTtl('thing:x')).toBeGreaterThan(50_000);
  await app.close();
});
