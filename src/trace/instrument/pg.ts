/**
 * PostgreSQL calls made with `pg`: a client span per query, and the pooled
 * connection's socket handed to that span when the query is actually
 * written, which for a queued query is later and in another async context
 * than the call.
 */
import type { Socket } from 'node:net';
import type { Tracer } from '../tracer.ts';
import type { SpanRecord } from '../span-record.ts';
import { errorMessage, type Method, type Patchable } from './patch.ts';

const SPAN = Symbol('wireflame.span');
const PATCHED = Symbol('wireflame.patched');
const MAX_QUERY_TEXT = 1024;

interface PgClientLike {
  _queryQueue?: ({ [SPAN]?: SpanRecord } | undefined)[];
  host?: string;
  port?: number;
}
interface PgQueryLike {
  [SPAN]?: SpanRecord;
}

/** The statement's leading keyword: SELECT, INSERT, ... */
export function pgOperation(text: string | undefined): string {
  const m = text ? /^\s*(\w+)/.exec(text) : null;
  return m ? m[1]!.toUpperCase() : 'QUERY';
}

function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  const text = (config as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

// The span of the query being made right now: a query sent at once is
// submitted inside Client#query, before the Query object can be tagged.
let making: SpanRecord | undefined;

export function instrumentPgClient(Client: Patchable, tracer: Tracer): void {
  if (Client.prototype[PATCHED]) return;
  Client.prototype[PATCHED] = true;
  const query = Client.prototype.query as Method;
  Client.prototype.query = function (this: PgClientLike, ...args: unknown[]) {
    const text = queryText(args[0]);
    const operation = pgOperation(text);
    const span = tracer.startClient(`pg ${operation}`, {
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      ...(text ? { 'db.query.text': text.slice(0, MAX_QUERY_TEXT) } : {}),
      ...(this.host ? { 'server.address': this.host } : {}),
      ...(this.port ? { 'server.port': this.port } : {}),
    });
    if (!span) return query.apply(this, args);
    const queued = this._queryQueue?.length ?? 0;
    making = span;
    try {
      return query.apply(this, args);
    } catch (err) {
      tracer.finishClient(span, errorMessage(err));
      throw err;
    } finally {
      if (making === span) {
        // Not submitted yet: it waits in the client's queue.
        const q = this._queryQueue;
        if (q && q.length > queued && q.at(-1)) q.at(-1)![SPAN] = span;
      }
      making = undefined;
    }
  };
}

export function instrumentPgQuery(Query: Patchable, tracer: Tracer): void {
  if (Query.prototype[PATCHED]) return;
  Query.prototype[PATCHED] = true;
  const submit = Query.prototype.submit as Method;
  const ready = Query.prototype.handleReadyForQuery as Method;
  const failed = Query.prototype.handleError as Method;
  Query.prototype.submit = function (this: PgQueryLike, ...args: unknown[]) {
    const span = this[SPAN] ?? making;
    if (span) {
      this[SPAN] = span;
      if (making === span) making = undefined;
      const stream = (args[0] as { stream?: Socket } | undefined)?.stream;
      if (stream) tracer.ownSocket(span, stream);
    }
    return submit.apply(this, args);
  };
  Query.prototype.handleReadyForQuery = function (this: PgQueryLike, ...args: unknown[]) {
    const span = this[SPAN];
    if (span) tracer.finishClient(span, undefined);
    return ready.apply(this, args);
  };
  Query.prototype.handleError = function (this: PgQueryLike, ...args: unknown[]) {
    const span = this[SPAN];
    if (span) tracer.finishClient(span, errorMessage(args[0]));
    return failed.apply(this, args);
  };
}
