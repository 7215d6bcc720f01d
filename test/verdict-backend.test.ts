// The verdict names the backend that holds the requests: a service whose
// handler waits on PostgreSQL (pg_sleep), its connection pool already open
// as a running service's is, is driven by the real CLI, observed in the
// kernel, and the PostgreSQL backend comes out as the top cause.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import pg from 'pg';
import { startPostgres } from '../src/load/backends/postgres.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { pacedRun } from './helpers/cli.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const postgres = await startPostgres();
const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
// Every connection of the pool open and used before the run: its probes first see them mid-conversation.
await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT pg_sleep(0.05)')));
assert.equal(pool.totalCount, 8);
const app = Fastify();
app.all('/*', async () => {
  await pool.query('SELECT pg_sleep(0.02)');
  return { ok: true };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
after(async () => {
  await app.close();
  await pool.end();
  await postgres.stop();
});

test('a handler that waits on PostgreSQL: the pg backend is the top cause, with its share', async () => {
  const r = await pacedRun([
    'run', '--target', url, '--target-pid', String(process.pid), '--pg-url', postgres.url,
    '--rate', '100', '--duration', '3s', '--warmup', '500ms', '--json', '--out', scratchDir('wf-verdict-'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.equal(result.kernel.available, true, result.kernel.reason);
  const pgPort = Number(new URL(postgres.url).port);
  const peer = result.kernel.peers.find((p) => p.port === pgPort);
  assert.ok(peer, `PostgreSQL among the peers: ${JSON.stringify(result.kernel.peers)}`);
  assert.equal(peer.service, 'postgresql');
  assert.ok(peer.mean_ms >= 20 && peer.mean_ms < 40, `each answer took pg_sleep(0.02) and a little: ${peer.mean_ms} ms`);
  // One answer a request: the pool's connections are known for clients from /proc (host/tcp-connections.ts).
  assert.ok(peer.count >= result.requests_total * 0.95 && peer.count <= result.requests_total * 1.05, `${peer.count} answers for ${result.requests_total} requests`);
  assert.equal(result.kernel.peers.length, 1, `only PostgreSQL: ${JSON.stringify(result.kernel.peers)}`);

  const top = result.verdict.causes[0];
  assert.equal(result.verdict.status, 'slow', result.verdict.summary);
  assert.equal(top?.cause, `backend postgresql at 127.0.0.1:${pgPort}`);
  // 20 ms of a ~21 ms request, on the answers it saw
  assert.ok(top.share_pct > 50 && top.share_pct <= 100, `share ${top.share_pct} %`);
});
