export { CacheThrottlerStorage } from './cache-throttler.storage';
