import { Presets, SingleBar } from 'cli-progress';
import { parseArgs } from 'node:util';
import { processEnv, readConfig } from './config/app-config';
import { Database } from './database';
import { DEMO_HOLDER_TOKEN, DEMO_ISSUER_TOKEN, seedDatabase } from './seed/seeder';

/**
 * `npm run seed -- --count 100000 [--reset]`: fills the database named by DATABASE_URL (default: the embedded
 * PGlite of `npm start`; stop the app first, PGlite allows one process) with realistic demo data.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '100000' }, reset: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log('usage: npm run seed -- [--count 100000] [--reset]\n  --reset  delete all existing data first');
    return;
  }
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) throw new Error(`--count must be an integer from 1 to 10,000,000, got "${values.count}"`);

  const config = readConfig(processEnv());
  const db = await Database.open(config.database);
  try {
    console.log(`seeding ${count.toLocaleString('en')} credentials into ${db.description}`);
    if (values.reset) await db.query('TRUNCATE api_tokens, credentials, users, org_settings, orgs');
    const bar = new SingleBar({ format: 'credentials [{bar}] {percentage}% | {value}/{total} | {speed}/s | ETA {eta}s', hideCursor: true }, Presets.shades_classic);
    const started = Date.now();
    bar.start(count, 0, { speed: 0 });
    const result = await seedDatabase(db, {
      count,
      onProgress: (written) => bar.update(written, { speed: Math.round(written / Math.max(0.001, (Date.now() - started) / 1000)) }),
    });
    bar.stop();
    console.log(
      `done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.credentials} credentials, ${result.users} holders, ${result.orgs} organisations\n` +
        `demo tokens: "${DEMO_ISSUER_TOKEN}" (org ${result.demoOrgId}), "${DEMO_HOLDER_TOKEN}" (user ${result.demoUserId})`,
    );
  } finally {
    await db.onApplicationShutdown();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
