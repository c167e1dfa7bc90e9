export { Cacheable } from './cacheable.decorator';
export { CacheEvict } from './cache-evict.decorator';
export { WriteThrough } from './write-through.decorator';
export { WriteBehind } from './write-behind.decorator';
export {
  type CacheableOptions,
  type CacheEvictOptions,
  type CacheOperation,
  type WriteThroughOptions,
  type WriteBehindDecoratorOptions,
  getOperations,
} from './cache-operation';
