export { CacheInterceptor } from './cache.interceptor';
