export type {
  CacheModuleOptions,
  CachePolicyOptions,
  CacheThrottlerOptions,
  CodecOption,
  LockPolicyOptions,
  RedisClusterConnectionOptions,
  RedisConnectionOption,
} from './cache-options.interface';
export { type Duration, parseDuration } from './duration';
export { type NormalizedCacheOptions, normalizeCacheOptions } from './normalize-options';
