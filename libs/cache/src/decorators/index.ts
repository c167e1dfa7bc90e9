export { Cacheable } from './cacheable.decorator';
export { CacheEvict } from './cache-evict.decorator';
export { WriteThrough } from './write-through.decorator';
export {
  type CacheableOptions,
  type CacheEvictOptions,
  type CacheOperation,
  type WriteThroughOptions,
  getOperations,
} from './cache-operation';
