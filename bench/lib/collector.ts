/** The non-decoding OTLP collector (fixtures/null-collector.ts) in its own process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface NullCollector {
  endpoint: string;
  /** Stops it; resolves with the exports and bytes it took. */
  stop(): Promise<{ exports: number; bytes: number }>;
}

/** `cpu` pins it, away from the target whose cost is measured. */
export async function startNullCollector(cpu?: number): Promise<NullCollector> {
  const script = fileURLToPath(new URL('../fixtures/null-collector.ts', import.meta.url));
  const argv = cpu === undefined ? [process.execPath, script] : ['taskset', '-c', String(cpu), process.execPath, script];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = child.stdout!.setEncoding('utf8');
  const [port] = (await once(out, 'data')) as [string];
  return {
    endpoint: `http://127.0.0.1:${port.trim()}`,
    async stop() {
      const taken = once(out, 'data') as Promise<[string]>;
      child.kill('SIGTERM');
      return JSON.parse((await taken)[0]) as { exports: number; bytes: number };
    },
  };
}
