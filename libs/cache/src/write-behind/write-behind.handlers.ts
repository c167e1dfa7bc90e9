import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { CACHE_OPTIONS } from '../cache.constants';
import { InvalidDecoratorError, InvalidOptionsError } from '../cache.errors';
import type { NormalizedCacheOptions } from '../options/normalize-options';
import { WRITE_BEHIND_HANDLER_METADATA, type WriteBehindFlushFn, type WriteBehindFlushHandler } from './write-behind.handler';

/**
 * The flush handlers of the module: functions given in `writeBehind.handlers` plus providers decorated with
 * `@WriteBehindHandler(name)`, found once (after every provider exists) on first use.
 */
@Injectable()
export class WriteBehindHandlers {
  private found: Map<string, WriteBehindFlushFn> | undefined;

  constructor(
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
    private readonly discovery: DiscoveryService,
  ) {}

  /** Names of every registered handler. */
  get names(): string[] {
    return [...this.all().keys()];
  }

  /** The handler `name`, or undefined. */
  get(name: string): WriteBehindFlushFn | undefined {
    return this.all().get(name);
  }

  /** The handler `name`; fails start-up naming `where` when there is none. */
  require(name: string, where: string): WriteBehindFlushFn {
    const handler = this.get(name);
    if (!handler) {
      const known = this.names;
      throw new InvalidDecoratorError(
        where,
        `@WriteBehind names flush handler "${name}", which is not registered (known: ${known.length ? known.map((n) => `"${n}"`).join(', ') : 'none'}); ` +
          'register it in CacheModule.forRoot({ writeBehind: { handlers } }) or with @WriteBehindHandler() on a provider',
      );
    }
    return handler;
  }

  private all(): Map<string, WriteBehindFlushFn> {
    if (this.found) return this.found;
    const found = new Map(Object.entries(this.options.writeBehind.handlers));
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Partial<WriteBehindFlushHandler> | undefined;
      const metatype = wrapper.metatype as object | null;
      const name: string | undefined = metatype ? Reflect.getMetadata(WRITE_BEHIND_HANDLER_METADATA, metatype) : undefined;
      if (name === undefined || !instance) continue;
      if (typeof instance.flush !== 'function') {
        throw new InvalidOptionsError(`@WriteBehindHandler('${name}') on ${wrapper.name as string}`, 'needs a flush(writes) method');
      }
      if (found.has(name)) throw new InvalidOptionsError(`@WriteBehindHandler('${name}')`, 'is registered twice');
      found.set(name, (writes) => instance.flush!(writes));
    }
    this.found = found;
    return found;
  }
}
