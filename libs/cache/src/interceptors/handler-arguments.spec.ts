import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Body,
  Controller,
  createParamDecorator,
  type ExecutionContext,
  Get,
  Headers,
  HostParam,
  Ip,
  Next,
  Param,
  Post,
  Query,
  Req,
  Res,
  Session,
} from '@nestjs/common';
import { CUSTOM_ROUTE_ARGS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { resolveHandlerArguments, usesResponseObject } from './handler-arguments';

/**
 * handler-arguments.ts reads Nest's private route-argument metadata with hard-coded keys and numbers. These tests
 * fail when a Nest upgrade changes them: first by comparing the literals with Nest's own constants, then by running
 * the real Nest decorators through resolveHandlerArguments.
 */

describe('hard-coded Nest constants', () => {
  // The constants are module-private (a const enum and two consts), so they are read from the source text.
  const source = readFileSync(join(__dirname, 'handler-arguments.ts'), 'utf8');
  const constant = (name: string) => new RegExp(`const ${name} = '([^']+)'`).exec(source)?.[1];

  it('ROUTE_ARGS_METADATA matches @nestjs/common/constants', () => {
    expect(constant('ROUTE_ARGS_METADATA')).toBe(ROUTE_ARGS_METADATA);
  });

  it('the custom-decorator suffix matches CUSTOM_ROUTE_ARGS_METADATA', () => {
    expect(constant('CUSTOM_ROUTE_ARGS_SUFFIX')).toBe(CUSTOM_ROUTE_ARGS_METADATA);
  });

  it('every RouteParamtype number matches Nest\'s RouteParamtypes', () => {
    const body = /const enum RouteParamtype \{([^}]+)\}/.exec(source)?.[1] ?? '';
    const members = [...body.matchAll(/(\w+) = (\d+)/g)].map(([, name, value]) => [name, Number(value)] as const);
    expect(members.length).toBeGreaterThanOrEqual(13);
    for (const [name, value] of members) {
      // RawBody -> RAW_BODY
      const nestName = name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() as keyof typeof RouteParamtypes;
      expect({ name, value }).toEqual({ name, value: RouteParamtypes[nestName] });
    }
  });
});

const CurrentUser = createParamDecorator((field: string | undefined, context: ExecutionContext) => {
  const user = context.switchToHttp().getRequest<{ user: Record<string, unknown> }>().user;
  return field ? user[field] : user;
});

@Controller('orgs')
class OrgController {
  @Get(':org/credentials/:id')
  find(
    @Param('id') id: string,
    @Query('expand') expand: string,
    @Headers('Accept-Language') lang: string,
    @CurrentUser('id') userId: string,
    @Param() params: Record<string, string>,
    @Query() query: Record<string, string>,
  ) {
    return { id, expand, lang, userId, params, query };
  }

  @Post(':org/credentials')
  create(@Body() body: unknown, @Body('name') name: string, @CurrentUser() user: unknown, @Headers() headers: unknown) {
    return { body, name, user, headers };
  }

  @Get('raw')
  raw(@Req() request: unknown, @Ip() ip: string, @Session() session: unknown, @HostParam('tenant') tenant: string) {
    return { request, ip, session, tenant };
  }

  @Get('download')
  download(@Param('id') id: string, @Res() response: unknown) {
    return { id, response };
  }

  @Get('passthrough')
  passthrough(@Res({ passthrough: true }) response: unknown) {
    return response;
  }

  @Get('next')
  withNext(@Next() next: unknown) {
    return next;
  }

  @Get('none')
  none() {
    return 'none';
  }
}

/** A minimal ExecutionContext over a plain request object, as Nest would build for an HTTP call. */
function httpContext(handler: keyof OrgController, request: Record<string, unknown>): ExecutionContext {
  return {
    getClass: () => OrgController,
    getHandler: () => OrgController.prototype[handler],
    getType: () => 'http',
    getArgs: () => [request, {}, () => undefined],
    getArgByIndex: (index: number) => [request, {}, () => undefined][index],
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}), getNext: () => () => undefined }),
    switchToRpc: () => {
      throw new Error('not rpc');
    },
    switchToWs: () => {
      throw new Error('not ws');
    },
  } as unknown as ExecutionContext;
}

describe('resolveHandlerArguments', () => {
  const request = {
    params: { org: 'o1', id: 'c-1' },
    query: { expand: 'holder', page: '2' },
    headers: { 'accept-language': 'de', 'x-trace': 't' },
    body: { name: 'Badge', level: 3 },
    user: { id: 'u7', role: 'admin' },
    ip: '10.0.0.1',
    session: { sid: 's1' },
    hosts: { tenant: 'acme' },
  };

  it('rebuilds @Param, @Query, @Headers (case-insensitive) and a createParamDecorator argument by position', () => {
    expect(resolveHandlerArguments(httpContext('find', request))).toEqual([
      'c-1',
      'holder',
      'de',
      'u7',
      { org: 'o1', id: 'c-1' },
      { expand: 'holder', page: '2' },
    ]);
  });

  it('rebuilds the whole @Body, one @Body field, a custom decorator without data and all @Headers', () => {
    expect(resolveHandlerArguments(httpContext('create', request))).toEqual([
      { name: 'Badge', level: 3 },
      'Badge',
      { id: 'u7', role: 'admin' },
      request.headers,
    ]);
  });

  it('rebuilds @Req, @Ip, @Session and @HostParam', () => {
    const [req, ip, session, tenant] = resolveHandlerArguments(httpContext('raw', request));
    expect(req).toBe(request);
    expect(ip).toBe('10.0.0.1');
    expect(session).toBe(request.session);
    expect(tenant).toBe('acme');
  });

  it('gives undefined for values the request does not carry', () => {
    expect(resolveHandlerArguments(httpContext('find', { user: {} }))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('returns no arguments for a handler without parameter decorators', () => {
    expect(resolveHandlerArguments(httpContext('none', request))).toEqual([]);
  });

  it('matches the arguments Nest itself passes (the cache key sees what the handler sees)', () => {
    const args = resolveHandlerArguments(httpContext('find', request)) as Parameters<OrgController['find']>;
    expect(new OrgController().find(...args)).toMatchObject({ id: 'c-1', expand: 'holder', lang: 'de', userId: 'u7' });
  });
});

describe('usesResponseObject', () => {
  it.each([
    ['@Res()', 'download', true],
    ['@Next()', 'withNext', true],
    ['only request parameters', 'find', false],
    ['no parameters', 'none', false],
  ] as const)('is %p -> %p', (_label, handler, expected) => {
    expect(usesResponseObject(OrgController, handler)).toBe(expected);
  });

  it('is true for @Res({ passthrough: true }) too: on a cache hit the handler would not run, so what it sets on the response would be lost', () => {
    expect(usesResponseObject(OrgController, 'passthrough')).toBe(true);
  });

  it('is false for a class without route metadata', () => {
    class Plain {
      method() {
        return 1;
      }
    }
    expect(usesResponseObject(Plain, 'method')).toBe(false);
  });
});
