import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { CacheHealthIndicator } from '@app/cache/health';
import { Database } from '../database';

/** How long Redis may take to answer PING before the cache counts as down. */
const CACHE_PING_TIMEOUT_MS = 1_000;

/**
 * Readiness for the container health check (@nestjs/terminus): 200 `{ status: 'ok', info: { database, cache } }`
 * when the database answers and the cache is healthy (Redis answers PING, the invalidation bus is subscribed, the
 * breaker is closed; always up on the in-process store), else 503 with the failing part under `error`.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly cache: CacheHealthIndicator,
    private readonly db: Database,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.database(), () => this.cache.isHealthy('cache', { timeoutMs: CACHE_PING_TIMEOUT_MS })]);
  }

  private async database() {
    const indicator = this.indicators.check('database');
    try {
      await this.db.query('SELECT 1');
      return indicator.up({ kind: this.db.kind });
    } catch {
      return indicator.down({ kind: this.db.kind, message: 'database not reachable' });
    }
  }
}
