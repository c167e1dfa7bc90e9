import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { configureApp } from './common/http';

/** Creates (does not start) the app for a config: what main.ts and the e2e tests share. */
export async function createApp(config: AppConfig, options: { logger?: LogLevel[] | false } = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), new FastifyAdapter({ trustProxy: config.trustProxy }), {
    logger: options.logger ?? ['log', 'warn', 'error'],
    abortOnError: false,
  });
  configureApp(app);
  await app.init();
  return app;
}

export const bootstrapLogger = new Logger('CredentialVerification');
