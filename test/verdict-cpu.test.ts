// The verdict names busy JavaScript: a service whose handler burns CPU runs
// under the register entry with profiling on; `wireflame run --target-profile`
// asks it for its profile at the end, and application CPU comes out on top
// with the burning function first among the stacks.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { catchesSignal } from '../src/cli/target-profile.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { pacedRun, wireflame } from './helpers/cli.ts';
import { fixture, startTracedService } from './helpers/service.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const dir = scratchDir('wf-cpu-profile-');
const out = scratchDir('wf-verdict-cpu-');
const service = await startTracedService(fixture('cpu-service.ts'), {
  WIREFLAME_KERNEL: 'off',
  WIREFLAME_PROFILE_DIR: dir,
  WIREFLAME_PROFILE_INTERVAL_US: '1000',
  BURN_MS: '5',
});
after(() => service.stop());

test('a handler that burns CPU: application CPU is the top cause, burnCpu the top function', async () => {
  const r = await pacedRun([
    'run', '--target', service.url, '--target-pid', String(service.pid), '--target-profile', dir,
    // 5 ms of CPU every 20 ms: a quarter of the thread, so that requests seldom
    // queue behind one another even on a slow host (at 100 req/s, half the
    // thread, a host running at a fifth of its speed made the receive-queue
    // wait the larger share).
    '--rate', '50', '--duration', '3s', '--warmup', '500ms', '--json', '--out', out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.ok(result.profile, 'the target\'s profile joined the result');
  assert.equal(result.profile.top_functions[0]?.name, 'burnCpu', JSON.stringify(result.profile.top_functions.slice(0, 3)));
  assert.equal(result.verdict.status, 'slow', result.verdict.summary);
  const top = result.verdict.causes[0]!;
  assert.equal(top.cause, 'application CPU (JavaScript)');
  assert.ok(top.share_pct > 60, `share ${top.share_pct} %`);
  assert.match(top.evidence, /busiest functions: burnCpu \(cpu-service\.ts:\d+\)/);
});

test('--target-profile refuses a process that does not profile, before any load', async () => {
  const other = spawn('sleep', ['30']);
  const r = await wireflame(['run', '--target', service.url, '--target-pid', String(other.pid), '--target-profile', dir, '--duration', '1s']);
  other.kill();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wireflame: --target-profile: process \d+ does not profile: start it with WIREFLAME_PROFILE_DIR=/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(catchesSignal('SigCgt:\t0000000000000800\n', 12), true);
  assert.equal(catchesSignal('SigCgt:\t0000000000000400\n', 12), false);
});
