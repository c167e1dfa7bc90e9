import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, map, type Observable } from 'rxjs';
import { CACHE_STATUS_HEADER } from '../cache.constants';
import { getOperations } from '../decorators/cache-operation';
import { OperationRunner } from '../engine/operation-runner';
import { handlerPropertyName, resolveHandlerArguments } from './handler-arguments';

/**
 * Serves @Cacheable, @CacheEvict and @WriteThrough on controller handlers (registered globally by CacheModule).
 * Handlers without caching metadata pass straight through. Cached handlers answer with `X-Cache: HIT | MISS`
 * (`BYPASS` when a condition skipped the cache), on Express and Fastify alike.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  constructor(private readonly runner: OperationRunner) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = context.getHandler();
    const operations = getOperations(handler);
    if (!operations || context.getType() !== 'http') return next.handle();
    const controller = context.getClass();
    const compiled = this.runner.compile(handler, operations, `${controller.name}.${handlerPropertyName(controller, handler)}`);
    const args = resolveHandlerArguments(context);
    const invoke = () => lastValueFrom(next.handle(), { defaultValue: undefined });
    return from(this.runner.run(compiled, args, invoke)).pipe(
      map(({ value, status }) => {
        if (compiled.cacheable) {
          context.switchToHttp().getResponse<{ header(name: string, value: string): unknown }>().header(CACHE_STATUS_HEADER, status);
        }
        return value;
      }),
    );
  }
}
