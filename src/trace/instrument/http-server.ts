/**
 * Incoming HTTP requests, for any server built on node:http or node:https
 * (fastify, express, plain handlers). The 'request' event runs inside the
 * request's span so that everything the handler starts belongs to it; the
 * end comes from Node's own diagnostics channel, so no listener is added per
 * request. Fastify's routes name their requests (see nameRoute).
 */
import { subscribe } from 'node:diagnostics_channel';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import type { Tracer } from '../tracer.ts';
import type { SpanRecord } from '../span-record.ts';

const SPAN = Symbol('wireflame.span');
const WRITTEN = Symbol('wireflame.written');

type Traced = { [SPAN]?: SpanRecord };
/**
 * A server socket, with what it had written when its last response finished:
 * a property added once per socket, then only changed (one added at every
 * request would make the property accesses on sockets megamorphic).
 */
type Counted = Socket & { [WRITTEN]?: number };
/**
 * Node's HTTP server socket, with the parser reading its requests, and for
 * TLS the TCP handle under its TLS handle (internal fields, read defensively).
 */
type ParsedSocket = Socket & { parser?: { incoming?: unknown } | null; _handle?: { bytesWritten?: unknown; _parent?: { bytesWritten?: unknown } } | null };

/**
 * What the response finishing now wrote: the socket's bytes since the last
 * one finished. Node writes a connection's responses in order, a pipelined
 * one only after those before it, so each finish closes its own share.
 */
function responseBytes(socket: Counted): number {
  const total = wireBytes(socket);
  const written = total - (socket[WRITTEN] ?? total);
  socket[WRITTEN] = total;
  return written;
}

/**
 * What the socket has handed to the kernel: its handle's count, which for
 * TLS is the encrypted bytes the TCP handle underneath wrote (what the
 * kernel counts, not the plaintext). Socket#bytesWritten would add what
 * still waits in the socket's buffer, by copying the buffer's list: nothing
 * of a response that finished (its last write was handed to the handle).
 */
function wireBytes(socket: Socket): number {
  const handle = (socket as ParsedSocket)._handle;
  const bytes = handle?._parent?.bytesWritten ?? handle?.bytesWritten;
  // Closed: the socket kept its handle's last count.
  return typeof bytes === 'number' ? bytes : socket.bytesWritten;
}

type Emit = (this: NetServer, event: string | symbol, ...args: unknown[]) => boolean;

export function instrumentHttpServer(tracer: Tracer): void {
  // A TLS server's HTTP connection (and its parser) starts at 'secureConnection'.
  http.Server.prototype.emit = tracedEmit(tracer, http.Server.prototype.emit as Emit, 'connection');
  https.Server.prototype.emit = tracedEmit(tracer, https.Server.prototype.emit as Emit, 'secureConnection');

  subscribe('http.server.response.finish', (message) => {
    const { response, socket } = message as { response: ServerResponse & Traced; socket: Counted };
    const span = response[SPAN];
    if (!span) return;
    const status = response.statusCode;
    tracer.finishServer(span, status, status >= 500 ? `HTTP ${status}` : undefined, tracer.awaitsSend ? responseBytes(socket) : 0);
  });

  // Fastify announces each instance as it is created; an onRoute hook added
  // then sees every route, and wraps its handler to name the request. Its
  // handler tracing channel would name it too, but subscribing to it makes
  // fastify build a store and publish three messages for every request.
  subscribe('fastify.initialization', (message) => {
    const { fastify } = message as { fastify: { addHook(name: 'onRoute', hook: (route: FastifyRoute) => void): unknown } };
    fastify.addHook('onRoute', (route) => nameRoute(tracer, route));
  });
}

/** A server's emit that runs each request in its span, and each connection's setup where the profiler labels it. */
function tracedEmit(tracer: Tracer, emit: Emit, connectionEvent: string): Emit {
  // Named parameters and `arguments`, not rest and spread: this runs for every event of every server.
  return function (this: NetServer, event: string | symbol, request?: unknown, response?: unknown): boolean {
    if (event === connectionEvent) {
      const args = arguments;
      return tracer.connection(request as Socket, () => Reflect.apply(emit, this, args));
    }
    if (event !== 'request') return Reflect.apply(emit, this, arguments);
    const req = request as IncomingMessage;
    const res = response as ServerResponse & Traced;
    const header = req.headers.traceparent;
    const span = tracer.startServer(req.method ?? 'GET', req.url ?? '/', req.socket as Socket, typeof header === 'string' ? header : undefined);
    res[SPAN] = span;
    // A socket's bytesWritten is a getter that walks its buffers: read at
    // each response's finish only, and only when the tracer waits for sends.
    if (tracer.awaitsSend) (req.socket as Counted)[WRITTEN] ??= wireBytes(req.socket);
    // Emitted by Node's HTTP parser, in the native callback that read the
    // request: that callback's scope restores the context when it returns.
    if ((req.socket as ParsedSocket).parser?.incoming === req) {
      tracer.enter(span, req.socket as Socket);
      return emit.call(this, event, req, res);
    }
    return tracer.run(span, req.socket as Socket, () => emit.call(this, event, req, res));
  } as Emit;
}

interface FastifyRoute {
  url: string;
  method: string | string[];
  handler: (this: unknown, request: unknown, reply: { raw: ServerResponse & Traced }) => unknown;
}

function nameRoute(tracer: Tracer, route: FastifyRoute): void {
  const { url, handler } = route;
  const name = typeof route.method === 'string' ? `${route.method} ${url}` : null;
  route.handler = function (request, reply) {
    const span = reply.raw[SPAN];
    if (span) {
      tracer.rename(span, name ?? `${span.method} ${url}`);
      span.attributes['http.route'] = url;
    }
    return handler.call(this, request, reply);
  };
}
