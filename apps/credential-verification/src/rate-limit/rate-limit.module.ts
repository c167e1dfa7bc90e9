import { type DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { CacheThrottlerStorage } from '@app/cache';
import type { AppConfig } from '../config/app-config';

/** Name of the public verification endpoint's throttler (its keys: `<namespace>:throttle:verify:{...}`). */
export const VERIFY_THROTTLER = 'verify';

/**
 * Rate limit of the public verification endpoint (GET /credentials/:id, guarded with ThrottlerGuard): at most
 * VERIFY_RATE_LIMIT requests per minute per client IP, counted in the cache's Redis (shared by every instance) by
 * CacheThrottlerStorage, or in-process when the cache runs without Redis. Generous on purpose: at an award ceremony
 * many guests scan from one venue Wi-Fi (one public IP). No block beyond the sliding window: a client over the limit
 * gets its next request as soon as its oldest one is a minute old. VERIFY_RATE_LIMIT=0 turns it off (benchmarks).
 */
@Module({})
export class RateLimitModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: RateLimitModule,
      imports: [
        ThrottlerModule.forRootAsync({
          inject: [CacheThrottlerStorage],
          useFactory: (storage: CacheThrottlerStorage) => ({
            throttlers: [{ name: VERIFY_THROTTLER, ttl: 60_000, limit: config.verifyRateLimit, blockDuration: 0 }],
            skipIf: () => config.verifyRateLimit === 0,
            storage,
          }),
        }),
      ],
      exports: [ThrottlerModule],
    };
  }
}
