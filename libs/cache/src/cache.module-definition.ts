import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CacheModuleOptions } from './options/cache-options.interface';

/** Extra options of forRoot / forRootAsync that shape the module rather than the cache. */
export interface CacheModuleExtras {
  /** Registers the module globally, so feature modules inject CacheService without importing it. Default false. */
  isGlobal?: boolean;
}

export const {
  ConfigurableModuleClass: ConfigurableCacheModule,
  MODULE_OPTIONS_TOKEN: CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE: CACHE_MODULE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: CACHE_MODULE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CacheModuleOptions>({ moduleName: 'Cache' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createCacheOptions')
  .setExtras<CacheModuleExtras>({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
