/**
 * The embedded target: a fastify JSON API, the service `wireflame run` drives
 * when no --target is given. Alone, items live in a bounded in-memory map.
 * Given Redis and PostgreSQL (api-mixed), PostgreSQL is the store and Redis a
 * read-through cache: every request reads Redis, every write goes to both.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';

const MAX_ITEMS = 100_000;
const CACHE_TTL_S = 300;

export interface Item {
  id: string;
  payload: unknown;
  createdAt: string;
}

export interface Backends {
  redisUrl?: string;
  pgUrl?: string;
}

const itemSchema = {
  type: 'object',
  required: ['id', 'payload'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    payload: {},
  },
} as const;

interface Store {
  get(id: string): Promise<Item | undefined>;
  put(item: Item): Promise<void>;
  close(): Promise<void>;
}

function memoryStore(): Store {
  const items = new Map<string, Item>();
  // Oldest-first eviction through a ring of ids: deleting a Map's first key
  // and asking for the next one again costs more the more was deleted.
  const ring: string[] = new Array(MAX_ITEMS);
  let next = 0;
  return {
    get: async (id) => items.get(id),
    async put(item) {
      const evicted = ring[next];
      if (evicted !== undefined && evicted !== item.id) items.delete(evicted);
      ring[next] = item.id;
      next = (next + 1) % MAX_ITEMS;
      items.set(item.id, item);
    },
    close: async () => {},
  };
}

async function backedStore(redisUrl: string, pgUrl: string): Promise<Store> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const db = new pg.Pool({ connectionString: pgUrl, max: 16 });
  await db.query(
    'CREATE TABLE IF NOT EXISTS items (id uuid PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
  );
  return {
    async get(id) {
      const cached = await redis.get(`item:${id}`);
      if (cached) return JSON.parse(cached) as Item;
      const { rows } = await db.query<{ id: string; payload: unknown; created_at: Date }>(
        'SELECT id, payload, created_at FROM items WHERE id = $1',
        [id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const item = { id: row.id, payload: row.payload, createdAt: row.created_at.toISOString() };
      await redis.set(`item:${id}`, JSON.stringify(item), 'EX', CACHE_TTL_S);
      return item;
    },
    async put(item) {
      await db.query('INSERT INTO items (id, payload, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET payload = $2', [
        item.id,
        JSON.stringify(item.payload),
        item.createdAt,
      ]);
      await redis.set(`item:${item.id}`, JSON.stringify(item), 'EX', CACHE_TTL_S);
    },
    async close() {
      await Promise.all([redis.quit(), db.end()]);
    },
  };
}

export async function buildTargetApp(backends: Backends = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const store = backends.redisUrl && backends.pgUrl ? await backedStore(backends.redisUrl, backends.pgUrl) : memoryStore();
  app.addHook('onClose', () => store.close());

  app.get('/healthz', async () => ({ ok: true }));
  // What the http-get scenario asks for: the cheapest answer.
  app.get('/', async () => ({ hello: 'world' }));

  app.get<{ Params: { id: string } }>('/v1/data/:id', async (req) => {
    // Unknown ids are common in a read-heavy run: answer with a default item.
    return (await store.get(req.params.id)) ?? { id: req.params.id, payload: { found: false }, createdAt: new Date(0).toISOString() };
  });

  app.post<{ Body: { id: string; payload: unknown } }>('/v1/data', { schema: { body: itemSchema } }, async (req, reply) => {
    const item: Item = { id: req.body.id, payload: req.body.payload, createdAt: new Date().toISOString() };
    await store.put(item);
    return reply.code(201).send(item);
  });

  return app;
}
