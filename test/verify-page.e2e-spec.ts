import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { bearer, dropWorld, type Fixtures, insertFixtures, isolation, redisClient, startApp, type TestApp } from './support/app-fixture';

/**
 * The page a phone shows after scanning a certificate's QR code, in a real headless Chromium: the browser's own
 * Accept header selects HTML. Saves screenshots of both states to the temp directory, or, with
 * UPDATE_SCREENSHOTS=1, to docs/verify-page.png and docs/verify-page-revoked.png (so a plain run leaves the tree clean).
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs') : join(tmpdir(), 'credential-verification-screenshots');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('verification page in headless Chromium (e2e)', () => {
  const world = isolation('browser');
  let instance: TestApp;
  let fx: Fixtures;
  let redis: Redis;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: the browser test needs Debian's chromium. Install it with: apt-get update && apt-get install -y chromium`);
    }
    instance = await startApp(world);
    fx = await insertFixtures(instance.db);
    redis = redisClient();
    const app: NestFastifyApplication = instance.app;
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await instance?.close();
    await dropWorld(world, redis);
    redis?.disconnect();
  });

  async function issue(title: string): Promise<string> {
    const response = await instance.app.inject({
      method: 'POST',
      url: '/credentials',
      headers: bearer(fx.issuerToken),
      payload: { holderId: fx.holderId, title, expiresAt: '2032-06-30T00:00:00Z' },
    });
    return response.json().id;
  }

  async function open(id: string) {
    const page = await browser.newPage({ viewport: { width: 420, height: 760 }, deviceScaleFactor: 1 });
    const response = await page.goto(`${baseUrl}/credentials/${id}`);
    return { page, response };
  }

  it('renders a VALID credential', async () => {
    const id = await issue('Bachelor of Science in Computer Engineering');
    const { page, response } = await open(id);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    expect(await page.getAttribute('main', 'data-status')).toBe('valid');
    expect(await page.textContent('h1')).toBe('Valid credential');
    const details = await page.textContent('dl');
    expect(details).toContain('Bachelor of Science in Computer Engineering');
    expect(details).toContain('Amara Okafor');
    expect(details).toContain('Northbridge University');
    expect(details).toContain('30 June 2032');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'verify-page.png'), fullPage: true });
    await page.close();
  });

  it('renders a REVOKED credential right after revocation, with date and reason', async () => {
    const id = await issue('Certified Scrum Master');
    const before = await open(id);
    expect(await before.page.getAttribute('main', 'data-status')).toBe('valid');
    await before.page.close();

    await instance.app.inject({ method: 'POST', url: `/credentials/${id}/revoke`, headers: bearer(fx.issuerToken), payload: { reason: 'Issued in error' } });
    const { page } = await open(id);
    expect(await page.getAttribute('main', 'data-status')).toBe('revoked');
    expect(await page.textContent('h1')).toBe('Revoked');
    const details = await page.textContent('dl');
    expect(details).toContain('Revoked on');
    expect(details).toContain('Issued in error');
    await page.screenshot({ path: join(SCREENSHOTS, 'verify-page-revoked.png'), fullPage: true });
    await page.close();
  });

  it('renders a not-found page with status 404 for an unknown id', async () => {
    const { page, response } = await open('cred_zzzzzzzzzzzzzzzzzzzz');
    expect(response?.status()).toBe(404);
    expect(await page.getAttribute('main', 'data-status')).toBe('not-found');
    await page.close();
  });
});
