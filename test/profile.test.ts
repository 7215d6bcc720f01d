/**
 * The fused profile of a real service run under the register entry: a
 * route that burns a known amount of CPU in a known function, and a route
 * that waits on Redis and PostgreSQL. `go tool pprof` and speedscope read
 * what we write.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { startPostgres } from '../src/load/backends/postgres.ts';
import { startRedis } from '../src/load/backends/redis.ts';
import type { Backend } from '../src/load/backends/child.ts';
import { launchBrowser } from './helpers/browser.ts';
import { fixture, startTracedService } from './helpers/service.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

let redis: Backend;
let postgres: Backend;
const dir = scratchDir('wireflame-profile-');
const BURNS = 30;
const BURN_MS = 20;
let stderr = '';

before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const service = await startTracedService(fixture('traced-service.ts'), {
    WIREFLAME_REDIS_URL: redis.url,
    WIREFLAME_PG_URL: postgres.url,
    WIREFLAME_KERNEL: 'self',
    WIREFLAME_PROFILE_DIR: dir,
    WIREFLAME_PROFILE_INTERVAL_US: '1000',
    OTEL_SERVICE_NAME: 'visits',
  });
  // One keep-alive connection, the two routes taking turns on it: the
  // profiler labels a connection once and tells its requests apart by time.
  const dispatcher = new Agent({ connections: 1 });
  for (let i = 0; i < BURNS; i++) {
    await (await request(`${service.url}/burn/${BURN_MS}`, { dispatcher })).body.dump();
    await (await request(`${service.url}/visit/${i}`, { dispatcher })).body.dump();
  }
  await dispatcher.close();
  await service.stop();
  stderr = service.stderr();
});
after(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

/** Folded stacks as [frames, ns]. */
function folded(): [string[], number][] {
  return readFileSync(join(dir, 'stacks.folded'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const at = line.lastIndexOf(' ');
      return [line.slice(0, at).split(';'), Number(line.slice(at + 1))];
    });
}

const sum = (rows: [string[], number][]) => rows.reduce((a, [, ns]) => a + ns, 0);

test('the burning route is ranked by its function, with the CPU time the handler spent', () => {
  const rows = folded();
  const burn = rows.filter(([f]) => f[0] === 'visits' && f[1] === 'GET /burn/:ms');
  const inBurnCpu = sum(burn.filter(([f]) => f.includes('burnCpu')));
  const injected = BURNS * BURN_MS * 1e6;
  assert.ok(Math.abs(inBurnCpu - injected) / injected < 0.25, `burnCpu weighs ${(inBurnCpu / 1e6).toFixed(0)} ms, ${BURNS * BURN_MS} ms were burnt (25 % tolerance)`);
  const top = [...new Map(burn.map(([f]) => [f[2]!, 0])).keys()].map((child) => [child, sum(burn.filter(([f]) => f[2] === child))] as const);
  top.sort((a, b) => b[1] - a[1]);
  assert.ok(sum(burn.filter(([f]) => f.includes('burnCpu'))) > sum(burn) * 0.6, `burnCpu is most of the route: ${JSON.stringify(top.slice(0, 4))}`);
});

test('the backend route shows its Redis and PostgreSQL waits and its kernel stages as frames', () => {
  const rows = folded();
  const visit = rows.filter(([f]) => f[1] === 'GET /visit/:n');
  const frames = new Set(visit.map(([f]) => f.slice(2).join(';')));
  for (const expected of ['[redis] GET', '[pg] INSERT', '[kernel] receive queue', '[kernel] tcp send queue', '[pg] INSERT;[kernel] peer answer wait']) {
    assert.ok(frames.has(expected), `${expected} in ${[...frames].filter((f) => f.startsWith('[')).join(', ')}`);
  }
  const pg = sum(visit.filter(([f]) => f[2] === '[pg] INSERT'));
  assert.ok(pg > 0 && pg < sum(visit), 'the pg wait is part of the route, not all of it');
  const burnt = sum(visit.filter(([f]) => f.includes('burnCpu')));
  assert.ok(burnt < 0.02 * BURNS * BURN_MS * 1e6, `the burn requests' CPU stays theirs: ${(burnt / 1e6).toFixed(1)} ms of it under the visit route`);
});

test('flame.html opens in Chromium with the whole run, each route and the slowest requests as views', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    await page.goto(pathToFileURL(join(dir, 'flame.html')).href);
    const views = await page.locator('#view option').allTextContents();
    assert.equal(views[0], 'whole run');
    assert.ok(views.some((v) => v.startsWith('route GET /burn/:ms')) && views.some((v) => v.startsWith('route GET /visit/:n')), views.join(' | '));
    assert.ok(views.some((v) => /^slowest #1: GET \/burn\/:ms/.test(v)), 'the slowest request is a burning one');
    await page.locator('.frame', { hasText: 'GET /visit/:n' }).first().click();
    assert.ok((await page.locator('.frame.backend', { hasText: '[pg] INSERT' }).count()) === 1);
    await page.screenshot({ path: join(dir, 'flame.png') });
    const frame = grafanaFrame();
    assert.equal(frame.level[0], 0);
    assert.equal(frame.value[0], frame.value.filter((_, i) => frame.level[i] === 1).reduce((a, b) => a + b, 0), 'the root holds its children');
  } finally {
    await browser.close();
  }
});

function grafanaFrame(): { label: string[]; level: number[]; value: number[]; self: number[] } {
  return JSON.parse(readFileSync(join(dir, 'flame.json'), 'utf8'));
}

test('go tool pprof reads profile.pb.gz and lists the synthetic frames', () => {
  const top = execFileSync('go', ['tool', 'pprof', '-top', '-nodecount=200', join(dir, 'profile.pb.gz')], {
    encoding: 'utf8',
    env: { ...process.env, HOME: tmpdir(), PPROF_TMPDIR: tmpdir() },
  });
  for (const name of ['burnCpu', '[kernel] receive queue', '[redis] GET', '[pg] INSERT', 'GET /visit/:n']) assert.ok(top.includes(name), `${name} in:\n${top}`);
  assert.match(top, /Type: wall/);
  const heap = execFileSync('go', ['tool', 'pprof', '-top', join(dir, 'heap.pb.gz')], { encoding: 'utf8', env: { ...process.env, HOME: tmpdir() } });
  assert.match(heap, /Type: inuse_space/);
  assert.doesNotMatch(stderr, /profile: /, 'no part of the profile is missing');
});

test('speedscope imports profile.pb.gz and lists the synthetic frames', async () => {
  // speedscope's own release (its files sit in one folder), and the profile, from one local server: it fetches what #profileURL names.
  const release = fileURLToPath(new URL('../node_modules/speedscope/dist/release/', import.meta.url));
  const types: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css', wasm: 'application/wasm' };
  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    try {
      const body = name === 'profile.pb.gz' ? readFileSync(join(dir, name)) : readFileSync(join(release, basename(name)));
      res.setHeader('content-type', types[name.split('.').pop()!] ?? 'application/octet-stream');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const imported = page.waitForEvent('console', (m) => m.text().startsWith('Importing as protobuf encoded pprof'));
    await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/profile.pb.gz`)}`);
    await imported;
    // The sandwich view lists frames by their total time, as text.
    await page.getByText('Sandwich').click();
    await page.getByText('burnCpu').first().waitFor();
    const listed = await page.locator('body').innerText();
    for (const name of ['burnCpu', '[kernel] receive queue', '[redis] GET', '[pg] INSERT']) assert.ok(listed.includes(name), `${name} in speedscope's list`);
    await page.screenshot({ path: join(dir, 'speedscope.png') });
  } finally {
    await browser.close();
    server.close();
  }
});
