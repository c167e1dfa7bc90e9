import { type DynamicModule, Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CacheMetricsModule } from '@app/cache';
import { AdminCacheController } from './admin-cache.controller';
import { AdminTokenGuard } from './admin-token.guard';
import { MetricsController } from './metrics.controller';
import { METRICS_REGISTRY } from './observability.tokens';

/**
 * `GET /metrics` (Prometheus) and the admin routes under `/admin/cache` (dashboard, key inspection, invalidation;
 * off unless ADMIN_TOKEN is set). Each app instance gets its own registry.
 */
@Module({})
export class ObservabilityModule {
  static register(): DynamicModule {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return {
      module: ObservabilityModule,
      imports: [CacheMetricsModule.forRoot({ registry })],
      controllers: [MetricsController, AdminCacheController],
      providers: [{ provide: METRICS_REGISTRY, useValue: registry }, AdminTokenGuard],
    };
  }
}
