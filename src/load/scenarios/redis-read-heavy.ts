/** redis-read-heavy: 95 % GET / 5 % SET over a preloaded key space (ioredis). */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { required, type Scenario } from '../scenario.ts';

const KEYS = 10_000;
const VALUE_BYTES = 512;
const MAX_CLIENTS = 8;

export const redisReadHeavy: Scenario = {
  name: 'redis-read-heavy',
  description: '95 % GET / 5 % SET over 10k preloaded keys of 512 bytes',
  needs: { target: false, redis: true, pg: false },
  async open({ redisUrl, connections }) {
    const url = required(redisUrl, 'Redis');
    // ioredis pipelines concurrent commands on one connection; a few spread the load.
    const clients = Array.from({ length: Math.min(connections, MAX_CLIENTS) }, () => new Redis(url, { maxRetriesPerRequest: 1 }));
    const value = randomBytes(VALUE_BYTES / 2).toString('hex');
    const preload = clients[0]!.pipeline();
    for (let k = 0; k < KEYS; k++) preload.set(`wf:key:${k}`, value);
    await preload.exec();
    let rng = 0x9e3779b9;
    const nextKey = () => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return `wf:key:${(rng >>> 0) % KEYS}`;
    };
    return {
      async operation(seq) {
        const client = clients[seq % clients.length]!;
        if (seq % 20 === 0) await client.set(nextKey(), value);
        else await client.get(nextKey());
      },
      async close() {
        await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  },
};
