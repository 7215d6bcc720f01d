// The TypeScript mirror of bpf/wireflame.h against the compiled object's BTF
// and the header's constants: the two sides cannot drift apart unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { OBJECT_PATH } from '../src/kernel/addon.ts';
import { FILTER, HIST_SLOTS, HOOK_COUNTERS, INLINE_PIDS, LAYOUTS, OWNER_SERVER, ROLE, SLOTS, STAGES } from '../src/kernel/layout.ts';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
}

const btf: BtfType[] = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', OBJECT_PATH], { encoding: 'utf8' })).types;
const byId = new Map(btf.map((t) => [t.id, t]));

function sizeOf(id: number): number {
  const t = byId.get(id);
  assert.ok(t, `BTF type ${id}`);
  if (t.kind === 'TYPEDEF' || t.kind === 'VOLATILE' || t.kind === 'CONST') return sizeOf(t.type_id!);
  if (t.kind === 'ARRAY') return sizeOf(t.type_id!) * t.nr_elems!;
  assert.ok(t.size !== undefined, `size of ${t.kind} ${t.name}`);
  return t.size;
}

for (const layout of LAYOUTS) {
  test(`struct ${layout.name} matches the BTF of the object`, () => {
    const s = btf.find((t) => t.kind === 'STRUCT' && t.name === layout.name);
    assert.ok(s?.members, `struct ${layout.name} is in the object's BTF`);
    assert.equal(s.size, layout.size, `sizeof(struct ${layout.name})`);
    assert.deepEqual(
      s.members.map((m) => m.name),
      Object.keys(layout.fields),
      'same fields in the same order',
    );
    for (const m of s.members) {
      const f = layout.fields[m.name]!;
      assert.equal(f.offset, m.bits_offset / 8, `${layout.name}.${m.name} offset`);
      assert.equal(f.size, sizeOf(m.type_id), `${layout.name}.${m.name} size`);
    }
  });
}

test('constants match bpf/wireflame.h', () => {
  const header = readFileSync(new URL('../bpf/wireflame.h', import.meta.url), 'utf8');
  const defines = new Map<string, number>();
  for (const m of header.matchAll(/^#define (WF_\w+) (\d+)/gm)) defines.set(m[1]!, Number(m[2]));

  assert.equal(defines.get('WF_STAGES'), STAGES.length);
  STAGES.forEach((s, i) => assert.equal(defines.get(`WF_STAGE_${s.toUpperCase()}`), i, `WF_STAGE_${s.toUpperCase()}`));
  assert.equal(defines.get('WF_HOOKS'), HOOK_COUNTERS.length);
  HOOK_COUNTERS.forEach((h, i) => assert.equal(defines.get(`WF_HOOK_${h.toUpperCase()}`), i, `WF_HOOK_${h.toUpperCase()}`));
  assert.equal(defines.get('WF_HIST_SLOTS'), HIST_SLOTS);
  assert.equal(defines.get('WF_INLINE_PIDS'), INLINE_PIDS);
  assert.equal(defines.get('WF_SLOTS'), SLOTS);
  assert.equal(defines.get('WF_FILTER_ALL'), FILTER.all);
  assert.equal(defines.get('WF_FILTER_PID'), FILTER.pid);
  assert.equal(defines.get('WF_FILTER_CGROUP'), FILTER.cgroup);
  assert.equal(defines.get('WF_OWNER_SERVER'), OWNER_SERVER);
  assert.equal(defines.get('WF_ROLE_CLIENT'), ROLE.client);
  assert.equal(defines.get('WF_ROLE_SERVER'), ROLE.server);
});
