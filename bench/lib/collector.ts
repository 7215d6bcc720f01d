/** The non-decoding OTLP collector (fixtures/null-collector.ts) in its own process. */
import { once } from 'node:events';
import { startTarget } from './target.ts';

export interface NullCollector {
  endpoint: string;
  /** Stops it; resolves with the exports and bytes it took. */
  stop(): Promise<{ exports: number; bytes: number }>;
}

/** `cpu` pins it, away from the target whose cost is measured. */
export async function startNullCollector(cpu?: number): Promise<NullCollector> {
  // Started as a target is: it prints its port, then what it took when stopped.
  const { child, port } = await startTarget('null-collector.ts', cpu === undefined ? {} : { cpu });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      const taken = once(child.stdout!, 'data') as Promise<[string]>;
      child.kill('SIGTERM');
      return JSON.parse((await taken)[0]) as { exports: number; bytes: number };
    },
  };
}
