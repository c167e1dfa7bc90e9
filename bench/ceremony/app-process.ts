import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/support/redis-server';
import { sleep } from '../support/stats';

const ROOT = resolve(__dirname, '..', '..');
const REGISTER = join(ROOT, 'test', 'support', 'swc-register.js');
const MAIN = join(ROOT, 'apps', 'credential-verification', 'src', 'main.ts');
const EXIT_ON_SIGUSR2 = join(__dirname, 'exit-on-sigusr2.js');
/** The Node.js options production runs the app with (the Dockerfile's NODE_OPTIONS), so the bench measures the same. */
const PRODUCTION_NODE_OPTIONS = /^ENV NODE_OPTIONS=(.+)$/m.exec(readFileSync(join(ROOT, 'apps', 'credential-verification', 'Dockerfile'), 'utf8'))?.[1] ?? '';

/** The demo app in a child process of its own (never in the process that runs autocannon). */
export interface AppProcess {
  readonly url: string;
  readonly pid: number;
  /** The app's warnings and errors so far (ANSI colours stripped), e.g. a cache breaker opening under load. */
  warnings(): string[];
  /** CPU time (user + system, ms) the app process has used so far; NaN where /proc is not available. */
  cpuMs(): number;
  /** Stops the app (SIGTERM, or SIGUSR2 + exit when profiling, so that --cpu-prof writes its file). */
  stop(): Promise<void>;
}

export interface AppProcessOptions {
  /** The app's environment (APP_ENV_VARS); PORT is chosen here. */
  readonly env: Record<string, string>;
  /** Write a V8 CPU profile into this directory (node --cpu-prof). */
  readonly cpuProfileDir?: string;
}

/** Starts `apps/credential-verification/src/main.ts` on a free port and resolves once GET /health answers 200. */
export async function startApp(options: AppProcessOptions): Promise<AppProcess> {
  const port = await freePort();
  const execArgv = ['-r', REGISTER];
  if (options.cpuProfileDir) execArgv.push('-r', EXIT_ON_SIGUSR2, '--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir);
  // Only the app's own variables: nothing leaks in from the bench's environment (e.g. a CACHE_DISABLED of the shell).
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, ...options.env, PORT: String(port), HOST: '127.0.0.1' };
  const child = spawn(process.execPath, [...execArgv, MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const warnings: string[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
    output = (output + text).slice(-20_000);
    for (const line of text.split('\n')) if (/\b(WARN|ERROR)\b/.test(line) && warnings.length < 100) warnings.push(line.trim());
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await Promise.race([exited.then((code) => ({ code })), sleep(200).then(() => undefined)]);
    if (state) throw new Error(`the app exited with code ${state.code} before answering:\n${output}`);
    const healthy = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the app did not answer GET /health within 60 s:\n${output}`);
    }
  }

  return {
    url,
    pid: child.pid!,
    warnings: () => [...warnings],
    cpuMs: () => processCpuMs(child.pid!),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill(options.cpuProfileDir ? 'SIGUSR2' : 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux Node runs on. */
const USER_HZ = 100;

/** User + system CPU time of a process, from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}
