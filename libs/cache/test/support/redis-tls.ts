import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis, { type RedisOptions } from 'ioredis';
import { freePort, waitForPing } from '../../../../test/support/redis-server';

const run = promisify(execFile);

/** A redis-server that speaks TLS only (no plaintext port), with a throwaway CA that signed its certificate. */
export interface TlsRedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly password: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  /** Path of that PEM, e.g. for NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
  /** `rediss://:<password>@127.0.0.1:<port>`. */
  readonly url: string;
  /** A client of its own that trusts the CA; disconnect it when done. */
  client(options?: RedisOptions): Redis;
  /** What redis-server has printed so far (started with `--loglevel verbose`, so refused TLS handshakes show). */
  output(): string;
  /** Kills the server and removes the certificates. */
  stop(): Promise<void>;
}

/**
 * Generates a CA and a server certificate for 127.0.0.1 with `openssl` into a temp dir, then starts
 * `redis-server --port 0 --tls-port <free port>` with `requirepass`, and resolves once a client that trusts the CA
 * gets PONG. Clients are not asked for certificates (`--tls-auth-clients no`). Nothing is committed: the keys live
 * as long as the server.
 * @example
 * const server = await startTlsRedisServer('s3cret');
 * CacheModule.forRoot({ redis: { host: server.host, port: server.port, password: server.password, tls: { ca: server.ca } } });
 */
export async function startTlsRedisServer(password: string): Promise<TlsRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-'));
  const file = (name: string) => join(dir, name);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    await generateCertificates(dir);
  } catch (error) {
    removeDir();
    throw error;
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port', '0',
      '--tls-port', String(port),
      '--tls-cert-file', file('server.crt'),
      '--tls-key-file', file('server.key'),
      '--tls-ca-cert-file', file('ca.crt'),
      '--tls-auth-clients', 'no',
      '--requirepass', password,
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--dir', dir,
      '--loglevel', 'verbose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
    removeDir();
  };
  const ca = readFileSync(file('ca.crt'), 'utf8');
  const client = (options: RedisOptions = {}) => new Redis({ host: '127.0.0.1', port, password, tls: { ca }, maxRetriesPerRequest: 1, ...options });
  // A redis-server built without TLS rejects the tls-* directives and exits: say so, rather than time out.
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`redis-server with --tls-port exited (${code ?? signal}); is it built with TLS (BUILD_TLS=yes)? Its output:\n${output}`)),
    );
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForPing(client, 5_000), exited]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host: '127.0.0.1',
    port,
    password,
    ca,
    caFile: file('ca.crt'),
    url: `rediss://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    client,
    output: () => output,
    stop,
  };
}

/** ca.crt/ca.key (a CA), server.crt/server.key (signed by it, valid for IP 127.0.0.1 and localhost), in `dir`. */
async function generateCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=cache TLS test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl('req', ...ecKey, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  // Node checks the address it dialled against the subjectAltName, so the certificate must name 127.0.0.1.
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await openssl(
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '1',
    '-extfile', 'server.ext', '-out', 'server.crt',
  );
}
