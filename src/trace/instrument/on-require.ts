/**
 * Instruments pg and ioredis as the service loads them, whether it uses
 * require or import: the hook is Node's module.require tracing channel, which
 * also reports the internal requires that an ESM import of a CommonJS package
 * makes, and carries the loaded exports.
 */
import { subscribe } from 'node:diagnostics_channel';
import { sep } from 'node:path';
import type { Tracer } from '../tracer.ts';
import { instrumentIoredis } from './ioredis.ts';
import type { Patchable } from './patch.ts';
import { instrumentPgClient, instrumentPgQuery } from './pg.ts';

interface RequireEnd {
  id: string;
  parentFilename?: string;
  result?: unknown;
}

const PG_INDEX = `${sep}pg${sep}lib${sep}index.js`;
const PG_CLIENT = `${sep}pg${sep}lib${sep}client.js`;
const IOREDIS_INDEX = `${sep}ioredis${sep}built${sep}index.js`;

function isClass(value: unknown): value is Patchable {
  return typeof value === 'function' && typeof (value as Patchable).prototype === 'object';
}

export function instrumentOnRequire(tracer: Tracer): void {
  subscribe('tracing:module.require:end', (message) => {
    const { id, parentFilename, result } = message as RequireEnd;
    if (!parentFilename) return;
    if (id === './client' && parentFilename.endsWith(PG_INDEX) && isClass(result)) instrumentPgClient(result, tracer);
    else if (id === './query' && parentFilename.endsWith(PG_CLIENT) && isClass(result)) instrumentPgQuery(result, tracer);
    else if (id === './Redis' && parentFilename.endsWith(IOREDIS_INDEX)) {
      const Redis = (result as { default?: unknown } | undefined)?.default;
      if (isClass(Redis)) instrumentIoredis(Redis, tracer);
    }
  });
}
