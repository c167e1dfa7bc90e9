import { Inject, Module, type NestModule, type OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CACHE_BUS, CACHE_OPTIONS, CACHE_STORE } from './cache.constants';
import { CACHE_MODULE_OPTIONS, ConfigurableCacheModule } from './cache.module-definition';
import { CacheService } from './cache.service';
import { CacheEngine } from './engine/cache-engine';
import { CacheEvents } from './engine/cache-events';
import { OperationRunner } from './engine/operation-runner';
import { CacheExplorer } from './explorer/cache.explorer';
import type { CacheModuleOptions } from './options/cache-options.interface';
import { type NormalizedCacheOptions, normalizeCacheOptions } from './options/normalize-options';
import { CacheConnections } from './stores/cache-connections';
import { CacheThrottlerStorage } from './throttler/cache-throttler.storage';
import { WriteBehindFlusher } from './write-behind/write-behind.flusher';
import { WriteBehindHandlers } from './write-behind/write-behind.handlers';
import { WriteBehindQueue } from './write-behind/write-behind.queue';

/**
 * Caching for a Nest application: registers the Redis connection, the policy registry, the engine, the
 * {@link CacheService}, the explorer that wraps decorated provider methods and controller handlers, and
 * {@link CacheThrottlerStorage} (a @nestjs/throttler storage on the same Redis).
 * @example
 * CacheModule.forRoot({ redis: 'redis://localhost:6379', namespace: 'certs', policies: { credential: { ttl: '10m' } } })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: CACHE_OPTIONS,
      useFactory: (options: CacheModuleOptions) => normalizeCacheOptions(options),
      inject: [CACHE_MODULE_OPTIONS],
    },
    CacheConnections,
    { provide: CACHE_STORE, useFactory: (connections: CacheConnections) => connections.store, inject: [CacheConnections] },
    { provide: CACHE_BUS, useFactory: (connections: CacheConnections) => connections.bus, inject: [CacheConnections] },
    CacheEvents,
    CacheEngine,
    OperationRunner,
    WriteBehindHandlers,
    WriteBehindQueue,
    WriteBehindFlusher,
    CacheService,
    CacheExplorer,
    CacheThrottlerStorage,
  ],
  exports: [
    CacheService,
    CacheEvents,
    CacheEngine,
    OperationRunner,
    CacheConnections,
    CACHE_OPTIONS,
    CACHE_STORE,
    CACHE_BUS,
    CacheThrottlerStorage,
    WriteBehindFlusher,
  ],
})
export class CacheModule extends ConfigurableCacheModule implements NestModule, OnModuleInit {
  constructor(
    private readonly connections: CacheConnections,
    private readonly explorer: CacheExplorer,
    @Inject(CACHE_OPTIONS) private readonly options: NormalizedCacheOptions,
  ) {
    super();
  }

  /** Nest configures modules just before it binds routes: the last moment to wrap the handlers they call. */
  configure(): void {
    this.explorer.wrapControllers();
  }

  async onModuleInit(): Promise<void> {
    await this.connections.ready(this.options);
  }
}
