import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from './bootstrap';
import { processEnv, resolveConfig } from './config/app-config';
import { Database } from './database';
import { sampleCredentialId, seedIfEmpty } from './seed/seed-on-start';

/**
 * Connections the kernel may hold for the app before it accepts them (Node's default is 511; Linux caps it at
 * net.core.somaxconn, 4096 by default). A ceremony's scanners connect in a burst: beyond the queue, connection
 * attempts are dropped and retried by the client after 1, 3, 7 s..., which the load test saw as requests of 4-10 s.
 */
const ACCEPT_BACKLOG = 4096;

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
  await app.listen({ port: config.port, host: config.host, backlog: ACCEPT_BACKLOG });
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
