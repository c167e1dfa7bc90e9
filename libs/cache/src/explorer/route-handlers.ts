import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { CACHE_STATUS_HEADER } from '../cache.constants';
import type { CompiledOperations, OperationRunner } from '../engine/operation-runner';

/**
 * Controller handlers are cached by wrapping the handler itself, as provider methods are, rather than through an
 * interceptor: Nest's interceptor pipeline (rxjs per request) cost about a fifth of a cached route's throughput.
 * Routes are bound before module init, so the wrapping happens while modules are configured (see CacheModule).
 *
 * Guards and pipes run before the wrapped handler, so keys are built from validated, transformed arguments, and the
 * application's interceptors see what the handler would have returned. To answer with `X-Cache`, the wrapped handler
 * needs the response: a hidden route parameter after the handler's own carries it.
 */

interface RouteArgument {
  index: number;
  factory?: unknown;
}

interface HeaderWriter {
  header(name: string, value: string): unknown;
}

/**
 * Carries the platform response to a cached handler. An object of our own rather than the response itself: Nest
 * awaits route arguments, and Fastify's reply is a thenable, so awaiting it would hang the request.
 */
class ResponseHandle {
  constructor(readonly response: HeaderWriter) {}
}

/** HTTP calls get the response; other transports (a controller serving microservice patterns too) get nothing. */
function readResponseHandle(_data: unknown, context: ExecutionContext): ResponseHandle | undefined {
  return context.getType() === 'http' ? new ResponseHandle(context.switchToHttp().getResponse<HeaderWriter>()) : undefined;
}

const ResponseHandleParam = createParamDecorator(readResponseHandle);

/** Nest's record of a handler's route parameters, keyed `<paramtype>:<index>` (custom ones by a generated name). */
function routeArguments(controller: object, handlerName: string): Record<string, RouteArgument> {
  return Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handlerName) ?? {};
}

/**
 * Whether a handler takes the platform response (@Res(), even with passthrough, or @Next()): on a cache hit the
 * handler does not run, so whatever it would have done to the response would be lost.
 */
export function usesResponseObject(controller: object, handlerName: string): boolean {
  return Object.keys(routeArguments(controller, handlerName)).some((key) => {
    const type = Number(key.split(':')[0]);
    return type === RouteParamtypes.RESPONSE || type === RouteParamtypes.NEXT;
  });
}

/**
 * Declares the hidden response parameter after the handler's own parameters and returns its index. The metadata
 * lives on the class, which every application in the process shares, so a second application finds it in place.
 */
function declareResponseParameter(prototype: object, name: string): number {
  const declared = Object.values(routeArguments(prototype.constructor, name));
  const existing = declared.find((argument) => argument.factory === readResponseHandle);
  if (existing) return existing.index;
  const handler = (prototype as Record<string, (...args: unknown[]) => unknown>)[name];
  const designed: unknown[] = Reflect.getMetadata('design:paramtypes', prototype, name) ?? [];
  const index = Math.max(handler.length, designed.length, ...declared.map((argument) => argument.index + 1));
  ResponseHandleParam()(prototype, name, index);
  return index;
}

/**
 * A route handler that runs its compiled operations around the original and answers `X-Cache: HIT | MISS |
 * BYPASS` when it reads through the cache. Calls from other transports reach the original unchanged.
 */
export function cachedRouteHandler(
  prototype: object,
  name: string,
  original: (...args: unknown[]) => unknown,
  compiled: CompiledOperations,
  runner: OperationRunner,
  settle: (result: unknown) => Promise<unknown>,
): (...args: unknown[]) => unknown {
  const responseIndex = declareResponseParameter(prototype, name);
  return function (this: unknown, ...routeArgs: unknown[]) {
    const handle = routeArgs[responseIndex];
    // A copy without the hidden parameter: shortening the array in place (args.length = n) costs more.
    const args = routeArgs.length > responseIndex ? routeArgs.slice(0, responseIndex) : routeArgs;
    if (!(handle instanceof ResponseHandle)) return original.apply(this, args);
    return runner.run(compiled, args, () => settle(original.apply(this, args)), (value, status) => {
      if (compiled.cacheable) handle.response.header(CACHE_STATUS_HEADER, status);
      return value;
    });
  };
}
