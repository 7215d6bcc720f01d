/**
 * An HTTPS service, traced with kernel stages on: its requests get spans as
 * a plain HTTP service's do, and each span's send stage counts the bytes the
 * kernel sent for its response, which for TLS are the encrypted ones.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { tracingConfig } from '../src/trace/config.ts';
import type { SpanRecord } from '../src/trace/span-record.ts';
import { startTracing } from '../src/trace/start.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

/** A throw-away self-signed certificate for 127.0.0.1. */
function certificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

test('HTTPS requests are traced, with the encrypted bytes of their own responses', async () => {
  const tracing = await startTracing(tracingConfig({ WIREFLAME_KERNEL: 'self' }), { log: () => {} });
  assert.equal(tracing.kernel.source, 'self', `kernel stages on: ${JSON.stringify(tracing.kernel)}`);
  const finished: SpanRecord[] = [];
  tracing.tracer.onFinish((span) => finished.push(span));
  const dir = scratchDir('wf-tls-');
  const server = https.createServer(certificate(dir), (req, res) => res.end('s'.repeat(Number(req.url!.slice(1)))));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sizes = [100, 20_000, 200_000, 3_000, 150_000, 10];
  try {
    const dispatcher = new Agent({ connections: 1, connect: { rejectUnauthorized: false } });
    for (const size of sizes) {
      const res = await request(`https://127.0.0.1:${(server.address() as { port: number }).port}/${size}`, { dispatcher });
      assert.equal((await res.body.text()).length, size);
    }
    await dispatcher.close();
    for (let i = 0; i < 100 && finished.length < sizes.length; i++) await sleep(10);

    // A span finishes once its response's last bytes were seen leaving: a
    // large response's may be seen after the next, small one has finished.
    const spans = [...finished].sort((a, b) => a.startNs - b.startNs);
    assert.deepEqual(spans.map((s) => s.name), sizes.map((size) => `GET /${size}`));
    assert.equal(tracing.tracer.counters.sendIncomplete, 0, 'every response was seen leaving');
    for (const [i, span] of spans.entries()) {
      const sent = span.kernel?.tx_send?.bytes ?? 0;
      // Headers, TLS record headers and tags on top of the body; nothing of
      // the handshake or of another response. The first response also
      // carries the session tickets TLS 1.3 sends after the handshake (two,
      // about 250 bytes each here).
      const extra = 400 + (i === 0 ? 1000 : 0);
      assert.ok(sent > sizes[i]! && sent < sizes[i]! * 1.02 + extra, `GET /${sizes[i]}: ${sent} bytes sent`);
    }
  } finally {
    server.close();
    await tracing.shutdown();
  }
});
