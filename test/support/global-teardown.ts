/** Stops the Redis that global setup started (a REDIS_URL given from outside is left alone). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__TEST_REDIS__?.stop();
}
