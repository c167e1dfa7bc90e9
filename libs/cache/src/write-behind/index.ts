export { WriteBehindHandler, type WriteBehindFlushFn, type WriteBehindFlushHandler, type WriteBehindWrite } from './write-behind.handler';
export type { WriteBehindOptions } from './write-behind.options';
export { WriteBehindFlusher } from './write-behind.flusher';
export type { WriteBehindDeadLetter } from './write-behind.dead-letters';
export { writeBehindKeys, versionOf } from './write-behind.keys';
