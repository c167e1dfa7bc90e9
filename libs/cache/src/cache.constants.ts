/** Injection token of the normalised module options ({@link NormalizedCacheOptions}). */
export const CACHE_OPTIONS = Symbol('CACHE_OPTIONS');
/** Injection token of the raw options given to forRoot / forRootAsync, before normalisation. */
export const CACHE_RAW_OPTIONS = Symbol('CACHE_RAW_OPTIONS');
/** Injection token of the shared (L2) store. */
export const CACHE_STORE = Symbol('CACHE_STORE');
/** Injection token of the invalidation and fill-notification bus. */
export const CACHE_BUS = Symbol('CACHE_BUS');
/** Injection token of the Redis connections the module uses (undefined when running on the in-process store). */
export const CACHE_REDIS_CONNECTIONS = Symbol('CACHE_REDIS_CONNECTIONS');

/** Metadata key under which @Cacheable, @CacheEvict and @WriteThrough record their operations. */
export const CACHE_OPERATIONS_METADATA = 'nest-cache:operations';

/** Response header that tells whether a controller response came from the cache. */
export const CACHE_STATUS_HEADER = 'X-Cache';
