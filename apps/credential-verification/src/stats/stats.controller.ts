import { Controller, Get } from '@nestjs/common';
import { Cacheable } from '@app/cache';
import { type PublicStats, StatsService } from './stats.service';

@Controller('stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  /** Cached on the handler (policy `publicStats`, 30 min): responses carry `X-Cache: HIT | MISS`. */
  @Get()
  @Cacheable({ key: 'stats:public', policy: 'publicStats' })
  async publicStats(): Promise<PublicStats> {
    return this.stats.publicStats();
  }

  /** Queries this instance has sent to the database (never cached). */
  @Get('db')
  database(): { kind: string; database: string; queries: number } {
    return this.stats.databaseStats();
  }
}
