/**
 * The `health` entry point (`@nest-redis-cache/core/health`): kept out of the main index because it imports
 * @nestjs/terminus, an optional peer.
 */
export { type CacheHealthDetails, CacheHealthIndicator, type CacheHealthOptions } from './cache-health.indicator';
