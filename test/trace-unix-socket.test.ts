/**
 * A service on a Unix socket, traced with kernel stages on: the kernel times
 * only TCP, so its requests own no socket in the kernel and finish with their
 * responses, instead of waiting for send stages that never come. A TCP
 * server in the same process still gets its kernel stages.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { tracingConfig } from '../src/trace/config.ts';
import { startTracing } from '../src/trace/start.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

async function drive(url: string, dispatcher: Agent, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await request(url, { dispatcher });
    assert.equal((await res.body.text()).length, 2000);
  }
  await dispatcher.close();
}

test('requests on a Unix socket finish with their response; TCP requests still get kernel stages', async () => {
  const tracing = await startTracing(tracingConfig({ WIREFLAME_KERNEL: 'self' }), { log: () => {} });
  assert.equal(tracing.kernel.source, 'self', `kernel stages on: ${JSON.stringify(tracing.kernel)}`);
  const { tracer, owners } = tracing;
  const dir = scratchDir('wf-unix-');
  const path = join(dir, 'service.sock');
  const handler = (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('u'.repeat(2000));
  const unix = http.createServer(handler).listen(path);
  const tcp = http.createServer(handler).listen(0, '127.0.0.1');
  await Promise.all([once(unix, 'listening'), once(tcp, 'listening')]);
  try {
    await drive('http://localhost/', new Agent({ connect: { socketPath: path } }), 20);
    // A span waiting for its last bytes would still be waiting: the first wait is 1 ms, the last ends ~1 s later.
    await sleep(20);
    assert.equal(tracer.counters.requests, 20, 'every Unix-socket request finished');
    assert.equal(tracer.counters.awaitedSend, 0, 'none waited for send stages');
    assert.equal(tracer.counters.withKernel, 0);
    assert.equal(owners?.counters.untimed, 20, 'each owner change on the Unix socket was left out of the kernel');

    await drive(`http://127.0.0.1:${(tcp.address() as { port: number }).port}/`, new Agent({ connections: 1 }), 20);
    for (let i = 0; i < 100 && tracer.counters.requests < 40; i++) await sleep(10);
    assert.equal(tracer.counters.requests, 40);
    assert.equal(tracer.counters.withKernel, 20, 'the TCP requests have kernel stages');
  } finally {
    unix.close();
    tcp.close();
    await tracing.shutdown();
  }
});
