/**
 * Which request is current: a request read by Node's HTTP parser becomes
 * current for its own callback only (Node restores the context when the
 * callback returns), pipelined requests on one connection each see their
 * own span in their handler and in the async work it starts, and a request
 * emitted by hand, outside the parser, leaves the caller's context as it
 * found it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { IncomingMessage, ServerResponse } from 'node:http';
import { Socket, connect } from 'node:net';
import { test } from 'node:test';
import { ExportSampler } from '../src/trace/export-sampler.ts';
import { instrumentHttpServer } from '../src/trace/instrument/http-server.ts';
import { Tracer } from '../src/trace/tracer.ts';

const tracer = new Tracer({ owners: null, sink: null, sampler: new ExportSampler({ ratio: 0, tailQuantile: 0.99 }) });
instrumentHttpServer(tracer);

test('pipelined requests on one connection each see their own span, in the handler and after a timer', async () => {
  const seen: { path: string; inHandler: string | undefined; afterTimer: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    const inHandler = tracer.current()?.name;
    setTimeout(() => {
      seen.push({ path: req.url!, inHandler, afterTimer: tracer.current()?.name });
      res.end('ok');
    }, 5);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(socket, 'connect');
  // One write: the parser reads all three requests in one callback.
  socket.write(['/a', '/b', '/c'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
  let answers = '';
  socket.setEncoding('utf8').on('data', (d: string) => (answers += d));
  while ((answers.match(/\r\n\r\nok/g) ?? []).length < 3) await once(socket, 'data');
  socket.destroy();
  server.close();
  assert.deepEqual(
    seen.map((s) => [s.path, s.inHandler, s.afterTimer]),
    [
      ['/a', 'GET /a', 'GET /a'],
      ['/b', 'GET /b', 'GET /b'],
      ['/c', 'GET /c', 'GET /c'],
    ],
  );
  assert.equal(tracer.current(), undefined, 'the test itself belongs to no request');
});

test('a request emitted by hand is current in its handler only', () => {
  const server = http.createServer();
  let inHandler: string | undefined;
  server.on('request', () => (inHandler = tracer.current()?.name));
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/by-hand';
  server.emit('request', req, new ServerResponse(req));
  assert.equal(inHandler, 'GET /by-hand');
  assert.equal(tracer.current(), undefined, 'the caller is back in its own context');
});
