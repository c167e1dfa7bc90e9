import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { lastValueFrom, Observable } from 'rxjs';
import { CACHE_STATUS_HEADER } from '../cache.constants';
import { getOperations } from '../decorators/cache-operation';
import { type CompiledOperations, OperationRunner } from '../engine/operation-runner';
import { handlerPropertyName, resolveHandlerArguments } from './handler-arguments';

/**
 * Serves @Cacheable, @CacheEvict and @WriteThrough on controller handlers. The decorators attach it to the handlers
 * they decorate (as `@UseInterceptors` would), so routes without caching never pay for an interceptor. Cached
 * handlers answer with `X-Cache: HIT | MISS` (`BYPASS` when a condition skipped the cache), on Express and Fastify.
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private runner: OperationRunner | undefined;
  private readonly compiledByHandler = new WeakMap<object, CompiledOperations | null>();

  /**
   * Nest creates this interceptor in the module of each controller that uses it: it takes the CacheModule that
   * module sees, or, when the module does not import one, the application's.
   */
  constructor(@Optional() runner: OperationRunner | undefined, private readonly moduleRef: ModuleRef) {
    this.runner = runner;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const compiled = this.operationsOf(context);
    if (!compiled) return next.handle();
    const args = resolveHandlerArguments(context);
    const invoke = () => lastValueFrom(next.handle(), { defaultValue: undefined });
    return new Observable((subscriber) => {
      this.operationRunner().run(compiled, args, invoke).then(
        ({ value, status }) => {
          if (compiled.cacheable) {
            context.switchToHttp().getResponse<{ header(name: string, value: string): unknown }>().header(CACHE_STATUS_HEADER, status);
          }
          subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => subscriber.error(error),
      );
    });
  }

  private operationRunner(): OperationRunner {
    return (this.runner ??= this.moduleRef.get(OperationRunner, { strict: false }) as OperationRunner);
  }

  /** The handler's compiled operations (null when it has none), worked out on its first request. */
  private operationsOf(context: ExecutionContext): CompiledOperations | null {
    const handler = context.getHandler();
    let compiled = this.compiledByHandler.get(handler);
    if (compiled === undefined) {
      const operations = getOperations(handler);
      const controller = context.getClass();
      compiled = operations ? this.operationRunner().compile(handler, operations, `${controller.name}.${handlerPropertyName(controller, handler)}`) : null;
      this.compiledByHandler.set(handler, compiled);
    }
    return compiled;
  }
}
