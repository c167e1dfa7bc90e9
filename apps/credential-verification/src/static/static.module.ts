import { Module } from '@nestjs/common';
import { StaticController } from './static.controller';

/** `GET /static/ping` (and `/static/ping/:id`): the framework's ceiling for the load scenario (no cache, no database). */
@Module({ controllers: [StaticController] })
export class StaticModule {}
