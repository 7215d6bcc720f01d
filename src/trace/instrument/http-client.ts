/**
 * Outgoing node:http requests: a client span each, its traceparent header
 * sent on, and its socket handed to the span once connected. Driven by
 * Node's diagnostics channels, so nothing is patched.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { formatTraceparent } from '../trace-context.ts';
import type { Tracer } from '../tracer.ts';
import type { SpanRecord } from '../span-record.ts';

const SPAN = Symbol('wireflame.span');

type Traced = ClientRequest & { [SPAN]?: SpanRecord };

export function instrumentHttpClient(tracer: Tracer): void {
  subscribe('http.client.request.created', (message) => {
    const { request } = message as { request: Traced };
    const span = tracer.startClient(`${request.method} ${request.host}`, {
      'http.request.method': request.method,
      'server.address': request.host,
      'url.path': request.path,
    });
    if (!span) return;
    request[SPAN] = span;
    if (!request.headersSent && !request.hasHeader('traceparent')) {
      request.setHeader('traceparent', formatTraceparent({ traceId: span.traceId, spanId: span.spanId, sampled: true }));
    }
    request.once('socket', (socket: Socket) => {
      if (socket.connecting) socket.once('connect', () => tracer.ownSocket(span, socket));
      else tracer.ownSocket(span, socket);
    });
  });

  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: Traced; response: IncomingMessage };
    const span = request[SPAN];
    const status = response.statusCode ?? 0;
    if (!span) return;
    span.attributes['http.response.status_code'] = status;
    tracer.finishClient(span, status >= 500 ? `HTTP ${status}` : undefined);
  });

  subscribe('http.client.request.error', (message) => {
    const { request, error } = message as { request: Traced; error: Error };
    const span = request[SPAN];
    if (span) tracer.finishClient(span, error.message);
  });
}
