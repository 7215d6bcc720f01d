/**
 * Redis calls made with `ioredis`: a client span per command, and the
 * connection's socket handed to that span right before the command is
 * written. A command that waited in the offline queue is sent again later;
 * it keeps its first span.
 */
import type { Socket } from 'node:net';
import type { Tracer } from '../tracer.ts';
import type { SpanRecord } from '../span-record.ts';
import { errorMessage, type Method, type Patchable } from './patch.ts';

const SPAN = Symbol('wireflame.span');
const PATCHED = Symbol('wireflame.patched');

interface RedisLike {
  stream?: Socket;
  status?: string;
  options?: { host?: string; port?: number };
}
interface CommandLike {
  name: string;
  promise: Promise<unknown>;
  [SPAN]?: SpanRecord;
}

export function instrumentIoredis(Redis: Patchable, tracer: Tracer): void {
  if (Redis.prototype[PATCHED]) return;
  Redis.prototype[PATCHED] = true;
  const send = Redis.prototype.sendCommand as Method;
  Redis.prototype.sendCommand = function (this: RedisLike, ...args: unknown[]) {
    const command = args[0] as CommandLike;
    let span = command[SPAN];
    if (!span) {
      const operation = command.name.toUpperCase();
      const made = tracer.startClient(`redis ${operation}`, {
        'db.system.name': 'redis',
        'db.operation.name': operation,
        ...(this.options?.host ? { 'server.address': this.options.host } : {}),
        ...(this.options?.port ? { 'server.port': this.options.port } : {}),
      });
      if (!made) return send.apply(this, args);
      span = command[SPAN] = made;
      const done = made;
      command.promise.then(
        () => tracer.finishClient(done, undefined),
        (err: unknown) => tracer.finishClient(done, errorMessage(err)),
      );
    }
    if (this.status === 'ready' && this.stream) tracer.ownSocket(span, this.stream);
    return send.apply(this, args);
  };
}
