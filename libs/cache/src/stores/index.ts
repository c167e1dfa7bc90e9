export type { CacheStore, LockAttempt } from './cache-store.interface';
export { MemoryStore, type MemoryStoreOptions } from './memory.store';
export { RedisStore, type RedisStoreOptions } from './redis.store';
