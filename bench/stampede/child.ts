import { type Contender, type ContenderId, contender } from './contenders';
import { epochMs, sleep } from '../support/stats';
import { burst, type BurstResult, steadyRate, type SteadyResult } from './workload';

/**
 * A worker process of the stampede benchmark. Every measurement runs in fresh workers that host one contender only,
 * so no library pays for another's garbage, timers or connections. Driven by the parent over IPC:
 *   open {id, redisUrl, prefix, ttlMs}                          -> ready
 *   burst {key, callers, loaderMs, startAt}                     -> done {result}
 *   steady {key, ratePerSec, durationMs, loaderMs, slowMs, startAt} -> done {result}
 *   close                                                       -> closed, then exit
 * `startAt` is an epoch ms: workers sent the same one start together. Workers of one contender share its prefix,
 * so they hit the same keys.
 */

export type ParentMessage =
  | { type: 'open'; id: ContenderId; redisUrl: string; prefix: string; ttlMs: number }
  | { type: 'burst'; key: string; callers: number; loaderMs: number; startAt: number }
  | { type: 'steady'; key: string; ratePerSec: number; durationMs: number; loaderMs: number; slowMs: number; startAt: number }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'done'; result: BurstResult | SteadyResult }
  | { type: 'closed' }
  | { type: 'error'; message: string };

let opened: Contender | undefined;
const send = (message: ChildMessage) => void process.send!(message);

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'open':
      opened = await contender(message.id).open({ redisUrl: message.redisUrl, prefix: message.prefix, ttlMs: message.ttlMs });
      return send({ type: 'ready' });
    case 'burst':
      await sleep(message.startAt - epochMs());
      return send({ type: 'done', result: await burst(opened!, message.key, message.callers, message.loaderMs) });
    case 'steady':
      await sleep(message.startAt - epochMs());
      return send({ type: 'done', result: await steadyRate(opened!, message.key, message) });
    case 'close':
      await opened?.close();
      send({ type: 'closed' });
      return process.disconnect();
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((error: Error) => send({ type: 'error', message: error.stack ?? error.message }));
});
