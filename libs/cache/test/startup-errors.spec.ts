import { Controller, Get, Inject, Injectable, Param, Res, Scope } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';
import {
  Cacheable,
  CacheError,
  CacheEvict,
  InvalidDecoratorError,
  InvalidDurationError,
  InvalidOptionsError,
  UnknownPolicyError,
  WriteThrough,
} from '@app/cache';
import { type CacheApp, createCacheApp } from './support/cache-app';
import { redisUrl, uniqueNamespace } from './support/redis';

const namespace = uniqueNamespace('startup');
const policies = { credential: { ttl: '1m' as const }, profile: { ttl: '5m' as const } };

/** The error a failed start-up rejected with (the test fails if start-up succeeded). */
async function startupError(spec: Parameters<typeof createCacheApp>[0]): Promise<CacheError> {
  let fixture: CacheApp;
  try {
    fixture = await createCacheApp(spec);
  } catch (error) {
    expect(error).toBeInstanceOf(CacheError);
    return error as CacheError;
  }
  await fixture.close();
  throw new Error('expected the application to fail at start-up, but it started');
}

describe('start-up failures', () => {
  it('an unknown policy in a provider decorator names the class, the method and the policy', async () => {
    @Injectable()
    class BillingService {
      @Cacheable({ key: 'invoice:{0}', policy: 'invoices' })
      async invoice(id: string) {
        return id;
      }
    }
    const error = await startupError({ cache: { redis: redisUrl(), namespace, policies }, providers: [BillingService] });
    expect(error).toBeInstanceOf(UnknownPolicyError);
    expect(error.code).toBe('CACHE_UNKNOWN_POLICY');
    expect(error.message).toContain('BillingService.invoice');
    expect(error.message).toContain('"invoices"');
    expect(error.message).toContain('"credential"'); // lists the known ones
  });

  it('an unknown policy in @WriteThrough or on a controller handler fails the same way', async () => {
    @Injectable()
    class Writer {
      @WriteThrough({ key: 'x:{0}', policy: 'writes' })
      async save(id: string) {
        return id;
      }
    }
    const writeError = await startupError({ cache: { redis: redisUrl(), namespace, policies }, providers: [Writer] });
    expect(writeError).toBeInstanceOf(UnknownPolicyError);
    expect(writeError.message).toContain('Writer.save');
    expect(writeError.message).toContain('"writes"');

    @Controller('reports')
    class ReportsController {
      @Get(':id')
      @Cacheable({ key: 'report:{0}', policy: 'reportz' })
      report(@Param('id') id: string) {
        return id;
      }
    }
    const handlerError = await startupError({ cache: { redis: redisUrl(), namespace, policies }, controllers: [ReportsController] });
    expect(handlerError).toBeInstanceOf(UnknownPolicyError);
    expect(handlerError.message).toContain('ReportsController.report');
    expect(handlerError.message).toContain('"reportz"');
  });

  it('a malformed duration in the module options names the option', async () => {
    const error = await startupError({
      cache: { redis: redisUrl(), namespace, policies: { credential: { ttl: '10 minutes' as never } } },
    });
    expect(error).toBeInstanceOf(InvalidDurationError);
    expect(error.code).toBe('CACHE_INVALID_DURATION');
    expect(error.message).toContain('policies.credential.ttl');
    expect(error.message).toContain('10 minutes');
  });

  it('a malformed negativeTtl and an unknown policy field are refused', async () => {
    const duration = await startupError({ cache: { namespace, policies: { credential: { ttl: '1m', negativeTtl: '-5s' as never } } } });
    expect(duration.message).toContain('policies.credential.negativeTtl');
    const field = await startupError({ cache: { namespace, policies: { credential: { tll: '1m' } as never } } });
    expect(field).toBeInstanceOf(InvalidOptionsError);
    expect(field.message).toContain('policies.credential.tll');
  });

  it('a malformed ttl on a decorator names the class and method', async () => {
    @Injectable()
    class Slow {
      @Cacheable({ key: 'slow:{0}', ttl: 'soon' as never })
      async load(id: string) {
        return id;
      }
    }
    const error = await startupError({ cache: { redis: redisUrl(), namespace }, providers: [Slow] });
    expect(error).toBeInstanceOf(InvalidDurationError);
    expect(error.message).toContain('Slow.load');
  });

  it('a key template using {result} before the method runs is refused', async () => {
    @Injectable()
    class Early {
      @CacheEvict({ key: 'x:{result.id}', beforeInvocation: true })
      async remove(id: string) {
        return { id };
      }
    }
    const error = await startupError({ cache: { namespace }, providers: [Early] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.message).toContain('Early.remove');
    expect(error.message).toContain('{result}');
  });

  it('a request-scoped provider with @Cacheable is refused with a clear message', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Cacheable({ key: 'per-request:{0}' })
      async load(id: string) {
        return id;
      }
    }
    const error = await startupError({ cache: { redis: redisUrl(), namespace }, providers: [PerRequest] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.code).toBe('CACHE_INVALID_DECORATOR');
    expect(error.message).toContain('PerRequest.load');
    expect(error.message).toMatch(/request-scoped/);
    expect(error.message).toMatch(/singleton/);
  });

  it('a singleton-declared provider that depends on a request-scoped one is refused too', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class RequestContext {
      constructor(@Inject(REQUEST) readonly request: unknown) {}
    }
    @Injectable()
    class TenantSettings {
      constructor(readonly context: RequestContext) {}
      @Cacheable({ key: 'tenant:{0}' })
      async settings(id: string) {
        return id;
      }
    }
    const error = await startupError({ cache: { namespace }, providers: [RequestContext, TenantSettings] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.message).toContain('TenantSettings.settings');
    expect(error.message).toMatch(/request-scoped/);
  });

  it('a request-scoped controller with a caching decorator is refused: each request would get an unwrapped instance', async () => {
    @Controller({ path: 'reports', scope: Scope.REQUEST })
    class ScopedReportsController {
      @Get(':id')
      @Cacheable({ key: 'report:{0}' })
      report(@Param('id') id: string) {
        return { id };
      }
    }
    const error = await startupError({ cache: { redis: redisUrl(), namespace }, controllers: [ScopedReportsController] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.message).toContain('ScopedReportsController.report');
    expect(error.message).toMatch(/singleton controller/);
  });

  it('a controller handler that uses @Res() with @Cacheable is refused', async () => {
    @Controller('files')
    class FilesController {
      @Get(':id')
      @Cacheable({ key: 'file:{0}' })
      download(@Param('id') id: string, @Res() response: { send(body: string): void }) {
        response.send(id);
      }
    }
    const error = await startupError({ cache: { redis: redisUrl(), namespace }, controllers: [FilesController] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.message).toContain('FilesController.download');
    expect(error.message).toContain('@Res()');
  });

  it('@Cacheable together with @WriteThrough on one method is refused', async () => {
    @Injectable()
    class Confused {
      @Cacheable({ key: 'c:{0}' })
      @WriteThrough({ key: 'c:{0}' })
      async both(id: string) {
        return id;
      }
    }
    const error = await startupError({ cache: { namespace }, providers: [Confused] });
    expect(error).toBeInstanceOf(InvalidDecoratorError);
    expect(error.message).toContain('Confused.both');
  });
});
