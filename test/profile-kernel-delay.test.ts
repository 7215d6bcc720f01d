/**
 * A handler with a known CPU cost and a known kernel delay: it burns 20 ms
 * in burnCpu, then sends 2 MB through a veth whose slow tbf qdisc holds the
 * bytes beyond its burst. The fused profile must rank both, weighted within
 * a stated tolerance of what the test injected.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { Backend } from '../src/load/backends/child.ts';
import { startPostgres } from '../src/load/backends/postgres.ts';
import { startRedis } from '../src/load/backends/redis.ts';
import { wireflamePrograms } from './helpers/bpf.ts';
import { createTestHost } from './helpers/netns.ts';
import { sendPaths } from './helpers/send-paths.ts';
import { fixture, startTracedService, type TracedService } from './helpers/service.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const REQUESTS = 5;
const BURN_MS = 20;
const BYTES = 2_000_000;
const RATE_BITS = 100e6;
const BURST_BYTES = 256 * 1024;

let redis: Backend | undefined;
let postgres: Backend | undefined;
after(() => Promise.all([redis?.stop(), postgres?.stop()]));

// With and without BPF timestamping: both send paths must wait for a response's last bytes to leave the qdisc.
for (const path of sendPaths()) {
  test(`${path.name} send path: the fused profile weighs the burnt CPU and the device-queue delay as injected`, { skip: path.missing ?? false }, async (t) => {
    if (!redis || !postgres) [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const host = createTestHost({ rate: '100mbit', index: (process.pid % 200) + 1 });
    let service: TracedService | undefined;
    try {
      const dir = scratchDir('wireflame-delay-');
      service = await startTracedService(fixture('traced-service.ts'), {
        LISTEN_HOST: host.localAddress,
        WIREFLAME_KERNEL: 'self',
        WIREFLAME_TIMESTAMPING: path.name === 'timestamping' ? 'auto' : 'off',
        WIREFLAME_PROFILE_DIR: dir,
        WIREFLAME_PROFILE_INTERVAL_US: '1000',
        WIREFLAME_REDIS_URL: redis.url,
        WIREFLAME_PG_URL: postgres.url,
        OTEL_SERVICE_NAME: 'delay',
      });
      const port = new URL(service.url).port;
      const { firstLine } = await host.runNode(`
        import http from 'node:http';
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        for (let i = 0; i < ${REQUESTS}; i++) {
          await new Promise((resolve, reject) =>
            http.get({ host: '${host.localAddress}', port: ${port}, path: '/burn/${BURN_MS}/bytes/${BYTES}', agent }, (res) => {
              res.resume();
              res.on('end', resolve);
            }).on('error', reject));
        }
        console.log('done');
      `);
      assert.equal(firstLine, 'done');
      const sendProgram = path.name === 'timestamping' ? 'wf_tstamp_sockops' : 'wf_sendmsg_btf';
      assert.ok(wireflamePrograms().includes(sendProgram), `the service times sends with ${sendProgram}: ${wireflamePrograms().join(' ')}`);
      await service.stop();
      service = undefined;
      checkProfile(t, readFileSync(join(dir, 'stacks.folded'), 'utf8'));
    } finally {
      await service?.stop();
      host.remove();
    }
  });
}

function checkProfile(t: TestContext, folded: string): void {
  const rows = folded
    .trim()
    .split('\n')
    .map((line) => {
      const at = line.lastIndexOf(' ');
      return [line.slice(0, at).split(';'), Number(line.slice(at + 1))] as const;
    })
    .filter(([f]) => f[1] === 'GET /burn/:ms/bytes/:n');
  const sum = (pred: (f: string[]) => boolean) => rows.filter(([f]) => pred(f)).reduce((a, [, ns]) => a + ns, 0);
  const burn = sum((f) => f.includes('burnCpu'));
  const sendPath = sum((f) => f[2] === '[kernel] tcp send queue' || f[2] === '[kernel] device queue');
  const burnt = REQUESTS * BURN_MS * 1e6;
  // Beyond the burst, the qdisc lets the response out at its rate.
  const held = REQUESTS * (((BYTES - BURST_BYTES) * 8) / RATE_BITS) * 1e9;
  const ms = (ns: number) => `${(ns / 1e6).toFixed(0)} ms`;
  t.diagnostic(`burnCpu ${ms(burn)} of ${ms(burnt)} burnt; kernel send path ${ms(sendPath)} of about ${ms(held)} held`);
  assert.ok(Math.abs(burn - burnt) / burnt < 0.25, `burnCpu ${ms(burn)}, burnt ${ms(burnt)} (25 % tolerance)`);
  assert.ok(Math.abs(sendPath - held) / held < 0.15, `kernel send path ${ms(sendPath)}, the qdisc held about ${ms(held)} (15 % tolerance)`);
  const top = new Map<string, number>();
  for (const [f, ns] of rows) top.set(f[2]!, (top.get(f[2]!) ?? 0) + ns);
  const ranked = [...top].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  assert.ok(ranked.slice(0, 3).some((n) => n.startsWith('[kernel]')), `a kernel stage ranks in the top 3: ${ranked.join(', ')}`);
}
