import { BadRequestException, Body, Controller, Get, Header, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { type CacheKeyInfo, CacheService, CacheStats, type CacheStatsSnapshot } from '@app/cache';
import { ADMIN_CACHE_PAGE } from './admin-cache.page';
import { AdminTokenGuard } from './admin-token.guard';
import { InvalidateDto } from './invalidate.dto';

/** {@link CacheStatsSnapshot} with the totals the dashboard shows. */
export interface AdminCacheStats extends CacheStatsSnapshot {
  readonly totals: { readonly hits: number; readonly misses: number; readonly stale: number; readonly hitRate: number | null };
}

/**
 * The cache's admin surface (ADMIN_TOKEN required, see {@link AdminTokenGuard}): a live dashboard, the numbers
 * behind it, where a key is cached, and invalidation of a key or a group. Keys are relative to the namespace.
 */
@Controller('admin/cache')
@UseGuards(AdminTokenGuard)
export class AdminCacheController {
  constructor(
    private readonly stats: CacheStats,
    private readonly cache: CacheService,
  ) {}

  /** The dashboard: hit rate over time, per-policy table, breaker and bus state; polls `stats` every 2 s. */
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return ADMIN_CACHE_PAGE;
  }

  /** Totals since start-up, per policy, with breaker, bus and L1 state. */
  @Get('stats')
  @Header('Cache-Control', 'no-store')
  snapshot(): AdminCacheStats {
    const snapshot = this.stats.snapshot();
    let hits = 0;
    let misses = 0;
    let stale = 0;
    for (const policy of snapshot.policies) {
      hits += policy.hits.l1 + policy.hits.l2;
      misses += policy.misses;
      stale += policy.stale;
    }
    const lookups = hits + misses + stale;
    return { ...snapshot, totals: { hits, misses, stale, hitRate: lookups === 0 ? null : (hits + stale) / lookups } };
  }

  /** Where `key` is cached (l1, l2 or none), its TTL left and its size in bytes. */
  @Get('keys')
  @Header('Cache-Control', 'no-store')
  inspect(@Query('key') key: unknown): Promise<CacheKeyInfo> {
    if (typeof key !== 'string' || key.length === 0) throw new BadRequestException('query parameter "key" is required');
    return this.cache.inspect(key);
  }

  /** Deletes one key, or a group (the key and every key under `group:`), in the store and every instance's L1. */
  @Post('invalidate')
  @HttpCode(200)
  async invalidate(@Body() body: InvalidateDto): Promise<{ key?: string; group?: string; deleted: boolean | number }> {
    if ((body.key === undefined) === (body.group === undefined)) throw new BadRequestException('give exactly one of "key" or "group"');
    if (body.key !== undefined) return { key: this.cache.keyOf(body.key), deleted: await this.cache.delete(body.key) };
    return { group: this.cache.keyOf(body.group!), deleted: await this.cache.clear(body.group!) };
  }
}
