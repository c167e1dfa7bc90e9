import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The peer libraries live in their own package (bench/peers), so that their peer ranges (ioredis 5 for bentocache)
 * do not clash with the root's (ioredis 6). These helpers load them from there, never from the root node_modules.
 */
export const PEERS_DIR = resolve(__dirname, '..', 'peers');

const peerRequireFn = createRequire(join(PEERS_DIR, 'package.json'));

/** Throws with the install command when the peers are not installed. */
export function assertPeersInstalled(): void {
  if (!existsSync(join(PEERS_DIR, 'node_modules'))) {
    throw new Error(`peer libraries are not installed in ${PEERS_DIR}: run \`npm run bench:install\` first`);
  }
}

/** `require` of a CommonJS peer (or a dual package's CommonJS build). */
export function peerRequire<T = any>(name: string): T {
  return peerRequireFn(name) as T;
}

/** `import()` of an ESM-only peer, resolved from bench/peers. */
export async function peerImport<T = any>(name: string): Promise<T> {
  return (await import(pathToFileURL(peerRequireFn.resolve(name)).href)) as T;
}

/** Installed version of a peer, for the report. */
export function peerVersion(name: string): string {
  const manifest = readFileSync(join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}
