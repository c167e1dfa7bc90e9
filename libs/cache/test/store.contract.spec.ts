import Redis from 'ioredis';
import { MemoryStore, RedisStore } from '@app/cache';
import { describeStoreContract } from './support/store-contract';
import { redisUrl, uniqueNamespace } from './support/redis';

describeStoreContract('MemoryStore', {
  create: () => new MemoryStore(),
  prefix: uniqueNamespace('store-memory'),
});

let client: Redis;
describeStoreContract('RedisStore', {
  create: () => {
    client = new Redis(redisUrl());
    // A small batch so deleteByPrefix needs many SCAN steps.
    return new RedisStore(client, { scanBatchSize: 100 });
  },
  dispose: async () => {
    await client.quit();
  },
  prefix: uniqueNamespace('store-redis'),
});
