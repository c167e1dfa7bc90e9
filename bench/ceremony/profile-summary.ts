import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where a process's CPU time went, from the `.cpuprofile` files `node --cpu-prof` wrote into `dir`: self time by
 * function (top `top`), and by area (node internals, fastify, @nestjs, ioredis, pg, the cache library, the app).
 */
export function summarizeProfiles(dir: string, top = 20): string {
  if (!existsSync(dir)) return '  (no profile written)';
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  if (files.length === 0) return '  (no profile written)';
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const node = nodes.get(id);
      const us = profile.timeDeltas[i] ?? 0;
      if (!node) return;
      total += us;
      const frame = node.callFrame;
      const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const name = `${frame.functionName || '(anonymous)'} ${where}`.trim();
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
      byArea.set(area(frame.url, frame.functionName), (byArea.get(area(frame.url, frame.functionName)) ?? 0) + us);
    });
  }
  const lines = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
  return [`  by area (${(total / 1e6).toFixed(1)} s sampled):`, ...lines(byArea, 12), `  by function:`, ...lines(byFunction, top)].join('\n');
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native / V8';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.includes('/libs/cache/')) return 'libs/cache';
  if (url.includes('/apps/credential-verification/')) return 'app';
  return shortUrl(url);
}
