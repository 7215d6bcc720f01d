// `wireflame doctor` as a person runs it: the real CLI, as root and as an
// unprivileged user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';

const cli = fileURLToPath(new URL('../bin/wireflame.js', import.meta.url));

function wireflame(args: string[], prefix: string[] = []) {
  const [cmd, ...rest] = [...prefix, process.execPath, cli, ...args];
  return spawnSync(cmd!, rest, { encoding: 'utf8', timeout: 60_000 });
}

test('doctor --live --json: every hook attaches and fires on this machine', () => {
  const r = wireflame(['doctor', '--live', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.btf, true);
  assert.equal(report.privileged, true);
  assert.match(report.kernel, /^\d+\.\d+/);
  for (const name of ['tcp_sendmsg', 'ip_local_out', 'dev_xmit', 'rx_ready', 'rx_read']) {
    const hook = report.hooks[name];
    assert.ok(hook, name);
    assert.ok(['sockops', 'fentry', 'kprobe', 'tp_btf', 'tracepoint'].includes(hook.mode), `${name}: ${hook.mode}`);
    assert.equal(hook.ok, true, `${name} ok`);
    assert.equal(hook.fired, true, `${name} fired`);
    assert.ok(hook.target.length > 0);
  }
});

/** Every directory above the checkout lets other users through: nobody can run the CLI. */
function othersCanReach(path: string): boolean {
  for (let dir = dirname(path); dir !== '/'; dir = dirname(dir)) if ((statSync(dir).mode & 0o001) === 0) return false;
  return true;
}

test('doctor as an unprivileged user: one clear line, non-zero exit, no stack trace', (t) => {
  // As nobody; where the checkout is closed to other users, as root with every capability dropped.
  const asNobody = othersCanReach(cli);
  t.diagnostic(asNobody ? 'running as nobody' : 'checkout not reachable by nobody: running as root without capabilities');
  const drop = asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']
    : ['setpriv', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all'];
  const json = wireflame(['doctor', '--json'], drop);
  assert.equal(json.status, 1);
  const report = JSON.parse(json.stdout);
  assert.equal(report.privileged, false);
  for (const hook of Object.values(report.hooks) as { ok: boolean }[]) assert.equal(hook.ok, false);
  assert.equal(json.stderr, 'wireflame: kernel stages off: missing CAP_BPF and CAP_PERFMON (run as root or grant them)\n');

  const human = wireflame(['doctor'], drop);
  assert.equal(human.status, 1);
  assert.match(human.stdout, /problem: kernel stages off: missing CAP_BPF and CAP_PERFMON/);
  assert.doesNotMatch(human.stdout + human.stderr, /\n\s+at /, 'no stack trace');
});

test('an unknown command is one line and a non-zero exit', () => {
  const r = wireflame(['frobnicate']);
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
