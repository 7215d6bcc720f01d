/**
 * Incoming HTTP requests, for any server built on node:http (fastify,
 * express, plain handlers). The 'request' event runs inside the request's
 * span so that everything the handler starts belongs to it; the end comes
 * from Node's own diagnostics channel, so no listener is added per request.
 * Fastify's routes name their requests (see nameRoute).
 */
import { subscribe } from 'node:diagnostics_channel';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Tracer } from '../tracer.ts';
import type { SpanRecord } from '../span-record.ts';

const SPAN = Symbol('wireflame.span');
const WRITTEN_BEFORE = Symbol('wireflame.writtenBefore');

type Traced = { [SPAN]?: SpanRecord; [WRITTEN_BEFORE]?: number };

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function instrumentHttpServer(tracer: Tracer): void {
  const emit = http.Server.prototype.emit as (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean;
  // Named parameters and `arguments`, not rest and spread: this runs for every event of every server.
  http.Server.prototype.emit = function (this: http.Server, event: string | symbol, request?: unknown, response?: unknown): boolean {
    if (event === 'connection') {
      const args = arguments;
      return tracer.connection(request as Socket, () => Reflect.apply(emit, this, args));
    }
    if (event !== 'request') return Reflect.apply(emit, this, arguments);
    const req = request as IncomingMessage;
    const res = response as ServerResponse & Traced;
    const header = req.headers.traceparent;
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    const span = tracer.startServer(`${method} ${path}`, req.socket as Socket, typeof header === 'string' ? header : undefined);
    span.attributes['http.request.method'] = method;
    span.attributes['url.path'] = path;
    res[SPAN] = span;
    res[WRITTEN_BEFORE] = req.socket.bytesWritten;
    return tracer.run(span, req.socket as Socket, () => emit.call(this, event, req, res));
  } as typeof emit;

  subscribe('http.server.response.finish', (message) => {
    const { response, socket } = message as { response: ServerResponse & Traced; socket: Socket };
    const span = response[SPAN];
    if (!span) return;
    const status = response.statusCode;
    const written = socket.bytesWritten - (response[WRITTEN_BEFORE] ?? socket.bytesWritten);
    tracer.finishServer(span, status, status >= 500 ? `HTTP ${status}` : undefined, written);
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
      tracer.rename(span, name ?? `${span.attributes['http.request.method']} ${url}`);
      span.attributes['http.route'] = url;
    }
    return handler.call(this, request, reply);
  };
}
