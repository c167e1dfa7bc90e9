import type { ExecutionContext } from '@nestjs/common';

/**
 * Rebuilds a controller handler's arguments from the request, the way Nest's route parameter decorators do, so a
 * controller's cache key is built from its arguments (route params, query, body, custom decorators such as a
 * current user) rather than from the URL alone. Pipes have not run yet: values are as the request carried them.
 */

/** Metadata key under which Nest's route parameter decorators record a handler's parameters. */
const ROUTE_ARGS_METADATA = '__routeArguments__';
/** Suffix Nest gives the metadata key of parameters made with createParamDecorator. */
const CUSTOM_ROUTE_ARGS_SUFFIX = '__customRouteArgs__';

/** Nest's RouteParamtypes, by number. */
const enum RouteParamtype {
  Request = 0,
  Response = 1,
  Next = 2,
  Body = 3,
  Query = 4,
  Param = 5,
  Headers = 6,
  Session = 7,
  File = 8,
  Files = 9,
  Host = 10,
  Ip = 11,
  RawBody = 12,
}

interface RouteArgument {
  index: number;
  data?: unknown;
  factory?: (data: unknown, context: ExecutionContext) => unknown;
}

type HttpRequest = Record<string, unknown> & {
  body?: Record<string, unknown>;
  query?: Record<string, unknown>;
  params?: Record<string, unknown>;
  headers?: Record<string, unknown>;
};

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
    return type === RouteParamtype.Response || type === RouteParamtype.Next;
  });
}

const handlerNames = new WeakMap<object, string>();

/**
 * The property under which the controller holds this handler. Not `handler.name`: another decorator that wraps
 * the method may leave the function anonymous, and then every request would resolve to no arguments (one key).
 */
export function handlerPropertyName(controller: { prototype: object }, handler: object): string {
  let name = handlerNames.get(handler);
  if (name === undefined) {
    for (let proto: object | null = controller.prototype; proto && name === undefined; proto = Object.getPrototypeOf(proto)) {
      name = Object.getOwnPropertyNames(proto).find((property) => Object.getOwnPropertyDescriptor(proto, property)?.value === handler);
    }
    name ??= (handler as { name: string }).name;
    handlerNames.set(handler, name);
  }
  return name;
}

/** Reads one argument of a handler from the request (or, for a custom parameter decorator, from the context). */
type ArgumentReader = (request: HttpRequest, context: ExecutionContext) => unknown;

/** Per handler, where each argument comes from: worked out from the route metadata once, not on every request. */
const readersByHandler = new WeakMap<object, ReadonlyArray<readonly [index: number, read: ArgumentReader]>>();

/** The handler's arguments as far as they come from the request; parameters of unknown kinds are undefined. */
export function resolveHandlerArguments(context: ExecutionContext): unknown[] {
  const handler = context.getHandler();
  let readers = readersByHandler.get(handler);
  if (!readers) {
    readers = argumentReaders(context.getClass(), handler);
    readersByHandler.set(handler, readers);
  }
  const request = context.switchToHttp().getRequest<HttpRequest>();
  const args: unknown[] = [];
  for (const [index, read] of readers) args[index] = read(request, context);
  return args;
}

function argumentReaders(controller: { prototype: object }, handler: object): Array<readonly [number, ArgumentReader]> {
  const metadata = routeArguments(controller, handlerPropertyName(controller, handler));
  return Object.entries(metadata).map(([key, argument]): readonly [number, ArgumentReader] => {
    if (key.includes(CUSTOM_ROUTE_ARGS_SUFFIX)) return [argument.index, (_request, context) => argument.factory?.(argument.data, context)];
    const type = Number(key.split(':')[0]);
    const property = argument.data as string | undefined;
    return [argument.index, (request) => fromRequest(type, property, request)];
  });
}

function fromRequest(type: number, property: string | undefined, request: HttpRequest): unknown {
  const pick = (source: Record<string, unknown> | undefined) => (property && source ? source[property] : source);
  switch (type) {
    case RouteParamtype.Request:
      return request;
    case RouteParamtype.Body:
      return pick(request.body);
    case RouteParamtype.Query:
      return pick(request.query);
    case RouteParamtype.Param:
      return pick(request.params);
    case RouteParamtype.Headers:
      return property && request.headers ? request.headers[property.toLowerCase()] : request.headers;
    case RouteParamtype.Session:
      return request.session;
    case RouteParamtype.File:
      return request.file;
    case RouteParamtype.Files:
      return request.files;
    case RouteParamtype.Host:
      return pick(request.hosts as Record<string, unknown> | undefined);
    case RouteParamtype.Ip:
      return request.ip;
    case RouteParamtype.RawBody:
      return request.rawBody;
    default:
      return undefined;
  }
}
