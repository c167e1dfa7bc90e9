export { CacheExplorer } from './cache.explorer';
