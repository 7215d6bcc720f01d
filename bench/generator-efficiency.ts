/**
 * Wireflame's load generator against wrk on the same saturated target: the
 * embedded JSON API target pinned to CPU 1, each generator pinned to CPU 0,
 * both sending the http-json-api mix (wrk through a Lua script), closed loop
 * with the same connection count, interleaved runs, medians.
 *
 *   node bench/generator-efficiency.ts [--pairs 5] [--seconds 5] [--connections 32]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { scratchDir } from '../src/util/scratch-dir.ts';
import { startTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';
import { reportStealAtExit } from './lib/cpu.ts';

reportStealAtExit();

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
const pairs = Number(values.pairs);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const cli = fileURLToPath(new URL('../bin/wireflame.js', import.meta.url));

async function wireflameRate(url: string): Promise<number> {
  const { stdout } = await run('taskset', [
    '-c', '0', process.execPath, cli, 'run', '--target', url,
    '--connections', String(connections), '--duration', `${seconds}s`, '--warmup', '1s',
    '--json', '--out', scratchDir('wf-bench-'),
  ], { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, WIREFLAME_CLOUD: 'off' } });
  return (JSON.parse(stdout) as { tps_avg: number }).tps_avg;
}

const { child, port } = await startTarget('json-api-server.ts', { cpu: 1 });
const script = fileURLToPath(new URL('./fixtures/http-json-api.lua', import.meta.url));
const url = `http://127.0.0.1:${port}`;
const ours: number[] = [];
const theirs: number[] = [];
try {
  await wrk(url, { seconds: 2, connections, cpu: 0, script });
  for (let i = 0; i < pairs; i++) {
    theirs.push((await wrk(url, { seconds, connections, cpu: 0, script })).rps);
    ours.push(await wireflameRate(url));
    process.stderr.write(`pair ${i + 1}/${pairs}: wrk ${theirs.at(-1)!.toFixed(0)} req/s, wireflame ${ours.at(-1)!.toFixed(0)} req/s\n`);
  }
} finally {
  child.kill();
}
console.log(`embedded target (CPU 1), generators on CPU 0, http-json-api mix, closed loop, ${connections} connections, ${pairs} pairs of ${seconds}s`);
console.log(`wrk:       median ${median(theirs).toFixed(0)} req/s  [${theirs.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`wireflame: median ${median(ours).toFixed(0)} req/s  [${ours.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`wireflame / wrk: ${(median(ours) / median(theirs)).toFixed(2)}x (target >= 0.9x)`);
