/**
 * flame.html in a real browser: hostile frame names show as text and run
 * nothing, a click zooms into a frame, the search finds frames, the view
 * switch changes the graph, and a page with nothing to draw says so.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { flameHtml } from '../src/profile/flame-html.ts';
import { frame, type WeightedStack } from '../src/profile/frames.ts';
import { launchBrowser } from './helpers/browser.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const dir = scratchDir('wireflame-flame-');
const HOSTILE = `<img src=x onerror="window.pwned=1">"'&</script><script>window.pwned=2</script>${'long'.repeat(200)}\uD800`;
let browser: Browser;

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const stack = (names: [string, 'route' | 'cpu' | 'kernel' | 'backend'][], ns: number): WeightedStack => ({
  frames: [frame('svc', 'service'), ...names.map(([n, k]) => frame(n, k))],
  ns,
  labels: {},
});

function page(name: string, html: string): string {
  const file = join(dir, name);
  writeFileSync(file, html);
  return pathToFileURL(file).href;
}

const stacks = [
  stack([['GET /a', 'route'], ['handler', 'cpu'], ['burnCpu', 'cpu']], 60e6),
  stack([['GET /a', 'route'], ['[kernel] receive queue', 'kernel']], 20e6),
  stack([['GET /a', 'route'], ['[redis] GET', 'backend']], 15e6),
  stack([['GET /b', 'route'], [HOSTILE, 'cpu']], 5e6),
];

test('a hostile name is drawn as text, runs nothing, and zooming into it works', async () => {
  const url = page('hostile.html', flameHtml({ title: `t ${HOSTILE}`, views: [{ label: 'whole run', stacks }], notes: [`note ${HOSTILE}`] }));
  const p = await browser.newPage({ viewport: { width: 1200, height: 500 } });
  await p.goto(url);
  assert.equal(await p.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned), undefined, 'no injected script ran');
  assert.equal(await p.locator('img').count(), 0, 'no injected element');
  assert.ok((await p.title()).startsWith('t <img src=x onerror='), 'the title shows the name as text');
  const hostile = p.locator('.frame.cpu', { hasText: '<img src=x onerror=' });
  assert.equal(await hostile.count(), 1);
  assert.equal((await hostile.textContent())!.slice(0, 40), HOSTILE.slice(0, 40));
  await hostile.click();
  const box = await hostile.boundingBox();
  assert.ok(box && box.width > 1000, `zoomed to full width: ${box?.width}`);
  await p.close();
});

test('click zooms, search highlights, the view switch redraws; a screenshot shows it', async () => {
  const views = [
    { label: 'whole run', stacks },
    { label: 'route GET /a', stacks: stacks.filter((s) => s.frames[1]!.name === 'GET /a').map((s) => ({ ...s, frames: s.frames.slice(1) })) },
  ];
  const p = await browser.newPage({ viewport: { width: 1200, height: 400 } });
  await p.goto(page('views.html', flameHtml({ title: 'svc: where request time went', views, notes: [] })));
  const burn = p.locator('.frame', { hasText: 'burnCpu' });
  const before = (await burn.boundingBox())!.width;
  // burnCpu is 60 of 100 ms: about 60 % of the graph's width.
  assert.ok(before > 600 && before < 750, `burnCpu width ${before}`);
  assert.equal(await p.locator('.frame.kernel').count(), 1);
  assert.equal(await p.locator('.frame.backend').count(), 1);
  await p.fill('#search', 'burn');
  assert.equal(await p.locator('.frame.match').count(), 1);
  assert.equal(await p.textContent('#matched'), 'matched: 60.0 %');
  await p.locator('.frame', { hasText: 'GET /a' }).first().click();
  const after = (await burn.boundingBox())!.width;
  assert.ok(after > before * 1.04, `zoomed into GET /a: burnCpu grew from ${before} to ${after}`);
  await p.locator('.frame', { hasText: 'burnCpu' }).hover();
  assert.match((await p.textContent('#tip'))!, /burnCpu\n60\.00 ms, 60\.0 % of whole run/);
  await p.screenshot({ path: join(dir, 'zoomed.png') });
  await p.selectOption('#view', '1');
  assert.equal(await p.locator('.frame', { hasText: 'GET /b' }).count(), 0, 'the route view shows that route only');
  await p.close();
});

test('a profile with nothing in it says so instead of drawing an empty page', async () => {
  const p = await browser.newPage();
  await p.goto(page('empty.html', flameHtml({ title: 'svc', views: [{ label: 'whole run', stacks: [] }], notes: ['no CPU sample fell inside a request'] })));
  assert.match((await p.textContent('#empty'))!, /Nothing to draw/);
  assert.match((await p.textContent('#notes'))!, /no CPU sample fell inside a request/);
  assert.equal(await p.locator('.frame').count(), 0);
  await p.close();
});
