/** Throw-away servers as child processes: wait until they answer, stop them for sure. */
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface Backend {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** Retries `probe` until it resolves, the child exits, or the deadline passes. */
export async function waitUntilReady(child: ChildProcess, what: string, probe: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new BackendUnavailableError(`${what} exited with code ${child.exitCode} while starting`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new BackendUnavailableError(`${what} did not answer within ${timeoutMs / 1000} s (${(last as Error)?.message ?? 'no answer'})`);
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await once(child, 'exit');
  clearTimeout(timer);
}
