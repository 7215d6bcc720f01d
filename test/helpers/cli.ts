/**
 * Runs the real wireflame CLI as a child process. Cloud discovery is off
 * unless a test points it at its own fake metadata servers: tests send
 * nothing beyond this machine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/wireflame.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Asynchronous, so that servers in the test process keep answering meanwhile. */
export function wireflame(args: string[], env: NodeJS.ProcessEnv = { WIREFLAME_CLOUD: 'off' }, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const options = { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } };
    execFile(process.execPath, [CLI, ...args], options, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/**
 * A `run --json` whose verdict a test judges. A run the load generator could
 * not pace (a loaded machine stalled it) is rightly inconclusive and says
 * nothing of the target: it is run once more.
 */
export async function pacedRun(args: string[]): Promise<CliResult> {
  const first = await wireflame(args);
  if (first.code !== 0 || !(JSON.parse(first.stdout) as { generator: { saturated: boolean } }).generator.saturated) return first;
  return wireflame(args);
}

export function spawnWireflame(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WIREFLAME_CLOUD: 'off' } });
}
