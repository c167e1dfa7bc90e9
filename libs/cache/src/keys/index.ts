export { type KeyPart, type KeyResult, renderKey, qualifyKey, safeSegment } from './key-builder';
export { type CacheKeySpec, type CompiledKey, compileKey } from './key-template';
