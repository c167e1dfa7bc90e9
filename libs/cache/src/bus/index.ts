export type { BusMessage, CacheBus, ReceivedBusMessage } from './cache-bus.interface';
export { LocalBus } from './local.bus';
export { RedisBus } from './redis.bus';
