import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { DatabaseTarget } from '../config/app-config';
import { Database } from './database';

/** Provides {@link Database} everywhere, opened (and migrated) before any other provider needs it. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(target: DatabaseTarget): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: Database, useFactory: () => Database.open(target) }],
      exports: [Database],
    };
  }
}
