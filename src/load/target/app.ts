/**
 * The embedded target: a fastify JSON API, the service `wireflame run` drives
 * when no --target is given. Items live in a bounded in-memory map here;
 * scenarios with backends give it Redis and PostgreSQL.
 */
import Fastify, { type FastifyInstance } from 'fastify';

const MAX_ITEMS = 100_000;

export interface Item {
  id: string;
  payload: unknown;
  createdAt: string;
}

const itemSchema = {
  type: 'object',
  required: ['id', 'payload'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    payload: {},
  },
} as const;

export function buildTargetApp(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const items = new Map<string, Item>();
  // Oldest-first eviction through a ring of ids: deleting a Map's first key
  // and asking for the next one again costs more the more was deleted.
  const ring: string[] = new Array(MAX_ITEMS);
  let next = 0;

  app.get('/healthz', async () => ({ ok: true }));

  app.get<{ Params: { id: string } }>('/v1/data/:id', async (req, reply) => {
    const item = items.get(req.params.id);
    if (item) return item;
    // Unknown ids are the common case for a read-heavy run: answer with a default item.
    return reply.send({ id: req.params.id, payload: { found: false }, createdAt: new Date(0).toISOString() });
  });

  app.post<{ Body: { id: string; payload: unknown } }>('/v1/data', { schema: { body: itemSchema } }, async (req, reply) => {
    const item: Item = { id: req.body.id, payload: req.body.payload, createdAt: new Date().toISOString() };
    const evicted = ring[next];
    if (evicted !== undefined && evicted !== item.id) items.delete(evicted);
    ring[next] = item.id;
    next = (next + 1) % MAX_ITEMS;
    items.set(item.id, item);
    return reply.code(201).send(item);
  });

  return app;
}
