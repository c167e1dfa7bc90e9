import { type INestApplication, ValidationPipe } from '@nestjs/common';

/** Whether the client prefers an HTML page (a browser that scanned the QR code) over JSON (an API client). */
export function wantsHtml(accept: string | undefined): boolean {
  // Scanners' and API clients' headers ("application/json", "*/*") never name HTML: skip the parse (hot path).
  if (!accept || !/html/i.test(accept)) return false;
  const html = quality(accept, 'text/html');
  const json = Math.max(quality(accept, 'application/json'), quality(accept, 'application/*'));
  return html > 0 && html >= json;
}

function quality(accept: string, type: string): number {
  let best = 0;
  for (const part of accept.split(',')) {
    const [media, ...params] = part.trim().toLowerCase().split(';');
    if (media !== type) continue;
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
    best = Math.max(best, q ? Number(q.slice(2)) || 0 : 1);
  }
  return best;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** What every instance of the app needs besides its modules (used by main.ts and the e2e tests alike). */
export function configureApp(app: INestApplication): void {
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
    }),
  );
  app.enableShutdownHooks();
}
