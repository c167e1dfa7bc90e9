import { type DynamicModule, Module } from '@nestjs/common';
import { type CachePolicyOptions, CacheModule } from '@app/cache';
import { AuthModule } from './auth';
import { APP_CONFIG } from './config/app-config.token';
import type { AppConfig } from './config/app-config';
import { CredentialsModule } from './credentials/credentials.module';
import { DatabaseModule } from './database';
import { HealthModule } from './health/health.module';
import { ObservabilityModule } from './observability/observability.module';
import { OrgsModule } from './orgs/orgs.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { StaticModule } from './static/static.module';
import { StatsModule } from './stats/stats.module';
import { UsersModule } from './users/users.module';

/**
 * The credential-verification app. Every cache TTL lives here, in one table: TTL is a product decision ("if this
 * is stale for X, what is the worst that happens?"), so it is set per type of data, next to the reason.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        DatabaseModule.forRoot(config.database),
        CacheModule.forRoot({
          isGlobal: true,
          ...(config.redisUrl ? { redis: config.redisUrl } : {}),
          namespace: config.cacheNamespace,
          policies: withCaching(config.cacheDisabled, {
            // Verification data: 10 min. Revocations never wait for it (revoke writes through), and expiry is
            // derived from the clock on every read, so only cosmetic fields can be stale.
            // Unknown ids (404s) are negative-cached for 30 s: a burst of scans of a mistyped or forged code costs
            // one query, and a credential issued meanwhile replaces the entry through write-through.
            // Immutable: the verify path only reads credentials, so scans share one frozen copy per version
            // instead of each copying it (the ceremony's hot path).
            credential: { ttl: '10m', negativeTtl: '30s', immutable: true },
            // A holder's list of credentials: 10 min, like the credentials in it; evicted on issue and revoke.
            holderCredentials: { ttl: '10m' },
            // User profiles: 5 min. A stale display name is tolerable; an update evicts at once anyway.
            userProfile: { ttl: '5m' },
            // Organisation settings (branding, messages, flags): 60 s. Changes should take effect quickly, and an
            // update evicts the entry for every instance at once. Read on every verification, so each instance keeps
            // them in memory too (L1): the bus drops those copies on an update, and should a bus message be lost,
            // a copy lives 10 s at most. Only read, like credentials: shared and frozen.
            orgSettings: { ttl: '60s', l1: { ttl: '10s' }, immutable: true },
            // Public stats / dashboard counts: 30 min. Nobody expects real-time accuracy, and the counts are costly.
            publicStats: { ttl: '30m' },
            // Auth tokens: never cached. A revoked token must stop working on the very next request.
            authToken: { cache: false },
          }),
          defaultPolicy: { ttl: '1m', ...(config.cacheDisabled ? { cache: false } : {}) },
        }),
        RateLimitModule.register(config),
        AuthModule,
        CredentialsModule,
        UsersModule,
        OrgsModule,
        StatsModule,
        HealthModule,
        ObservabilityModule.register(),
        StaticModule,
      ],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}

/**
 * The policies as written, or, with CACHE_DISABLED=1, every one of them `cache: false`: the same code paths with
 * every read reaching the database, which is what the load scenario compares the cache against.
 */
function withCaching(disabled: boolean, policies: Record<string, CachePolicyOptions>): Record<string, CachePolicyOptions> {
  if (!disabled) return policies;
  return Object.fromEntries(Object.entries(policies).map(([name, policy]) => [name, { ...policy, cache: false }]));
}
