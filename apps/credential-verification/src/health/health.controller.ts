import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { Database } from '../database';

/** Liveness and readiness for the container health check: answers 200 once the database answers. */
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get()
  async health(): Promise<{ status: 'ok'; database: string }> {
    try {
      await this.db.query('SELECT 1');
    } catch {
      throw new ServiceUnavailableException('database not reachable');
    }
    return { status: 'ok', database: this.db.kind };
  }
}
