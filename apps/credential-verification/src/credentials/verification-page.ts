import { escapeHtml as e } from '../common/http';
import type { Verification } from './verification.service';

/**
 * The page a phone shows after scanning a certificate's QR code. Server-rendered, self-contained (no scripts, no
 * external assets), so it loads at once on a venue's congested Wi-Fi. `data-status` on <main> is for tests.
 */

const STATES = {
  valid: { label: 'Valid credential', icon: '✓', color: '#1a7f37', lead: 'This credential is genuine and in good standing.' },
  revoked: { label: 'Revoked', icon: '✕', color: '#cf222e', lead: 'This credential was revoked by its issuer and is no longer valid.' },
  expired: { label: 'Expired', icon: '!', color: '#9a6700', lead: 'This credential was genuine but has expired.' },
  'not-found': { label: 'Not found', icon: '?', color: '#57606a', lead: 'No credential with this id exists. Check the code or contact the issuer.' },
} as const;

const date = (iso: string) => new Date(iso).toLocaleDateString('en-GB', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });

function layout(title: string, status: keyof typeof STATES, accent: string, body: string): string {
  const state = STATES[status];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${e(title)}</title>
<style>
  :root { --state: ${state.color}; --accent: ${e(accent)}; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f3f4f6; color: #1f2328; }
  main { max-width: 560px; margin: 32px auto; background: #fff; border-radius: 14px; overflow: hidden; box-shadow: 0 6px 24px rgba(0,0,0,.08); }
  .brand { height: 8px; background: var(--accent); }
  .banner { display: flex; gap: 16px; align-items: center; padding: 24px; background: color-mix(in srgb, var(--state) 10%, #fff); border-bottom: 1px solid #e5e7eb; }
  .badge { flex: none; width: 56px; height: 56px; border-radius: 50%; background: var(--state); color: #fff; font-size: 30px; font-weight: 700; display: grid; place-items: center; }
  .banner h1 { margin: 0; font-size: 24px; color: var(--state); }
  .banner p { margin: 2px 0 0; }
  dl { margin: 0; padding: 8px 24px 16px; display: grid; grid-template-columns: max-content 1fr; gap: 10px 18px; }
  dt { color: #57606a; }
  dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
  .note { margin: 0 24px 16px; padding: 12px 14px; background: #f6f8fa; border-radius: 8px; }
  footer { padding: 14px 24px; border-top: 1px solid #e5e7eb; font-size: 13px; color: #57606a; }
  code { font-size: 13px; }
</style>
</head>
<body>
<main data-status="${status}">
  <div class="brand"></div>
  <section class="banner" role="status">
    <div class="badge" aria-hidden="true">${state.icon}</div>
    <div><h1>${state.label}</h1><p>${state.lead}</p></div>
  </section>
  ${body}
</main>
</body>
</html>`;
}

/** The page for a credential that exists, whatever its status. */
export function renderVerificationPage(verification: Verification): string {
  const { credential, issuer, status } = verification;
  const rows: Array<[string, string]> = [
    ['Credential', credential.title],
    ['Awarded to', credential.holderName],
    ['Issued by', issuer.name],
    ['Issued on', date(credential.issuedAt)],
    ['Expires', credential.expiresAt ? date(credential.expiresAt) : 'Does not expire'],
  ];
  if (status === 'revoked' && credential.revokedAt) rows.push(['Revoked on', date(credential.revokedAt)]);
  if (status === 'revoked' && credential.revocationReason) rows.push(['Reason', credential.revocationReason]);
  const body = `
  <dl>${rows.map(([term, value]) => `<dt>${e(term)}</dt><dd>${e(value)}</dd>`).join('')}</dl>
  ${issuer.message ? `<p class="note">${e(issuer.message)}</p>` : ''}
  <footer>Credential id <code>${e(credential.id)}</code> · checked ${e(new Date(verification.checkedAt).toUTCString())}${
    issuer.supportEmail ? ` · questions: <a href="mailto:${e(issuer.supportEmail)}">${e(issuer.supportEmail)}</a>` : ''
  }</footer>`;
  return layout(`${STATES[status].label}: ${credential.title}`, status, issuer.brandColor, body);
}

/** The page for an id that matches no credential. */
export function renderNotFoundPage(id: string): string {
  return layout('Credential not found', 'not-found', '#57606a', `<footer>Credential id <code>${e(id)}</code></footer>`);
}
