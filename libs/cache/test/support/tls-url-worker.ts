/**
 * A child process that starts an app with `CacheModule.forRoot({ redis: <rediss:// URL> })`, calls a @Cacheable
 * method twice and reports how many times its loader ran. It exists because a URL carries no CA: a private CA is
 * trusted through NODE_EXTRA_CA_CERTS, which Node reads only at process start, so the test sets it on a process
 * of its own. Started by {@link runTlsUrlWorker}; never run by jest itself.
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CacheModule } from '@app/cache';
import { Catalogue } from './catalogue';

/** What the worker is started with (JSON in the TLS_URL_WORKER environment variable). */
export interface TlsUrlWorkerConfig {
  url: string;
  namespace: string;
  id: string;
}

/** What the worker answers: the two calls' values and the number of loads behind them. */
export interface TlsUrlWorkerResult {
  values: unknown[];
  loads: number;
}

/**
 * Forks this file with NODE_EXTRA_CA_CERTS=`caFile` and resolves with its result, or rejects when it fails or
 * does not answer within `timeoutMs`.
 * @example
 * const { loads } = await runTlsUrlWorker({ url: server.url, namespace, id: '1' }, server.caFile);
 */
export async function runTlsUrlWorker(config: TlsUrlWorkerConfig, caFile: string, timeoutMs = 20_000): Promise<TlsUrlWorkerResult> {
  const child = fork(__filename, [], {
    execArgv: ['-r', join(__dirname, '../../../../test/support/swc-register.js')],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile, TLS_URL_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = once(child, 'exit');
  try {
    // The worker answers, then exits; an exit without an answer (crash, timeout) wins the race as undefined.
    const answer = (await Promise.race([once(child, 'message').then(([message]) => message), exited.then(() => undefined)])) as
      | TlsUrlWorkerResult
      | { error: string }
      | undefined;
    if (answer === undefined) throw new Error(`TLS URL worker exited (code ${child.exitCode}, signal ${child.signalCode}) before answering`);
    if ('error' in answer) throw new Error(`TLS URL worker failed: ${answer.error}`);
    return answer;
  } finally {
    clearTimeout(timer);
    await exited;
  }
}

async function main(config: TlsUrlWorkerConfig): Promise<TlsUrlWorkerResult> {
  @Module({ imports: [CacheModule.forRoot({ redis: config.url, namespace: config.namespace })], providers: [Catalogue] })
  class WorkerModule {}

  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  try {
    const catalogue = app.get(Catalogue);
    const values = [await catalogue.item(config.id), await catalogue.item(config.id)];
    return { values, loads: catalogue.loads };
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main(JSON.parse(process.env.TLS_URL_WORKER!))
    .catch((error: Error) => ({ error: error.stack ?? error.message }))
    .then((answer) => process.send!(answer, () => process.exit(0)));
}
