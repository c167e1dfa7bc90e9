import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from './bootstrap';
import { processEnv, resolveConfig } from './config/app-config';
import { Database } from './database';
import { sampleCredentialId, seedIfEmpty } from './seed/seed-on-start';

/**
 * `npm start`: embedded defaults (PGlite in .data/pglite, Redis on 127.0.0.1:6379 if one answers, else in-process
 * cache), a small seed on an empty database, and the URL to open.
 */
async function main(): Promise<void> {
  const logger = new Logger('CredentialVerification');
  const config = await resolveConfig(processEnv());
  const app = await createApp(config);
  const db = app.get(Database);
  await seedIfEmpty(db, config.seedOnStart, logger);
  await app.listen(config.port, config.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://localhost:${port}`;
  const sample = await sampleCredentialId(db);
  logger.log(`listening on ${url}`);
  if (sample) logger.log(`try it: ${url}/credentials/${sample} (open it in a browser for the verification page)`);
}

main().catch((error: unknown) => {
  new Logger('CredentialVerification').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
