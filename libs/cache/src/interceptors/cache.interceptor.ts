import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { from, lastValueFrom, map, type Observable } from 'rxjs';
import { CACHE_STATUS_HEADER } from '../cache.constants';
import { getOperations } from '../decorators/cache-operation';
import { OperationRunner } from '../engine/operation-runner';
import { handlerPropertyName, resolveHandlerArguments } from './handler-arguments';

/**
 * Serves @Cacheable, @CacheEvict and @WriteThrough on controller handlers. The decorators attach it to the handlers
 * they decorate (as `@UseInterceptors` would), so routes without caching never pay for an interceptor. Cached
 * handlers answer with `X-Cache: HIT | MISS` (`BYPASS` when a condition skipped the cache), on Express and Fastify.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private runner: OperationRunner | undefined;

  /**
   * Nest creates this interceptor in the module of each controller that uses it: it takes the CacheModule that
   * module sees, or, when the module does not import one, the application's.
   */
  constructor(@Optional() runner: OperationRunner | undefined, private readonly moduleRef: ModuleRef) {
    this.runner = runner;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    const operations = getOperations(handler);
    if (!operations || context.getType() !== 'http') return next.handle();
    const runner: OperationRunner = this.runner ?? (this.runner = this.moduleRef.get(OperationRunner, { strict: false }) as OperationRunner);
    const controller = context.getClass();
    const compiled = runner.compile(handler, operations, `${controller.name}.${handlerPropertyName(controller, handler)}`);
    const args = resolveHandlerArguments(context);
    const invoke = () => lastValueFrom(next.handle(), { defaultValue: undefined });
    return from(runner.run(compiled, args, invoke)).pipe(
      map(({ value, status }) => {
        if (compiled.cacheable) {
          context.switchToHttp().getResponse<{ header(name: string, value: string): unknown }>().header(CACHE_STATUS_HEADER, status);
        }
        return value;
      }),
    );
  }
}
