import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { createApp } from '../apps/credential-verification/src/bootstrap';
import { Database } from '../apps/credential-verification/src/database';
import { bearer, dropWorld, type Fixtures, insertFixtures, isolation, redisClient, testConfig } from './support/app-fixture';

/**
 * The /admin/cache dashboard in a real headless Chromium: after traffic, the hit-rate chart has points and the
 * per-policy table has rows. Saves a screenshot to the temp directory, or, with UPDATE_SCREENSHOTS=1, to
 * docs/admin-cache.png.
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs') : join(tmpdir(), 'credential-verification-screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ADMIN_TOKEN = 'dashboard-e2e-token';

describe('cache dashboard in headless Chromium (e2e)', () => {
  const world = isolation('dashboard');
  let app: NestFastifyApplication;
  let fx: Fixtures;
  let redis: Redis;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: the browser test needs Debian's chromium. Install it with: apt-get update && apt-get install -y chromium`);
    }
    app = await createApp({ ...testConfig(world), adminToken: ADMIN_TOKEN }, { logger: false });
    fx = await insertFixtures(app.get(Database));
    redis = redisClient();
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await dropWorld(world, redis);
    redis?.disconnect();
  });

  /** Some reads: mostly hits, a few misses (new credentials, unknown ids), on three policies. */
  async function traffic(round: number): Promise<void> {
    const issued = await app.inject({
      method: 'POST',
      url: '/credentials',
      headers: bearer(fx.issuerToken),
      payload: { holderId: fx.holderId, title: `Course ${round}`, expiresAt: '2032-06-30T00:00:00Z' },
    });
    const id = issued.json().id as string;
    for (let i = 0; i < 8; i++) await app.inject({ url: `/credentials/${id}` });
    for (let i = 0; i < 4; i++) await app.inject({ url: '/stats' });
    await app.inject({ url: `/credentials/cred_unknown${String(round).padStart(15, '0')}` });
  }

  it('draws the hit rate over time and the per-policy table after traffic', async () => {
    await traffic(0);
    const page = await browser.newPage({ viewport: { width: 1000, height: 760 }, deviceScaleFactor: 1 });
    const response = await page.goto(`${baseUrl}/admin/cache?token=${ADMIN_TOKEN}`);
    expect(response?.status()).toBe(200);
    // Traffic while the page polls every 2 s, so the chart gets several points.
    for (let round = 1; round <= 3; round++) {
      await traffic(round);
      await page.waitForTimeout(2_100);
    }
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 3, undefined, { timeout: 10_000 });

    const line = await page.getAttribute('#line-total', 'd');
    expect(line).toMatch(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){2,}/);
    const hitRate = await page.textContent('#hit-rate');
    expect(hitRate).toMatch(/^\d+(\.\d)?%$/);
    expect(Number.parseFloat(hitRate!)).toBeGreaterThan(50);
    expect(await page.textContent('#breaker')).toBe('closed');
    expect(await page.textContent('#bus')).toBe('subscribed');
    const policies = await page.$$eval('#policies tbody tr', (rows) => rows.map((row) => (row as HTMLElement).dataset.policy));
    expect(policies).toEqual(expect.arrayContaining(['credential', 'publicStats']));
    const statsRow = await page.$$eval('#policies tbody tr[data-policy="publicStats"] td', (cells) => cells.map((cell) => cell.textContent));
    expect(Number(statsRow[2])).toBeGreaterThan(0); // L2 hits
    expect(statsRow[8]).toMatch(/ms$/); // p99 load time

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'admin-cache.png'), fullPage: true });
    await page.close();
  }, 40_000);
});
