/** The progress line of a run: redrawn in place on a terminal, silent otherwise. */
import type { Progress } from '../load/generator.ts';

export function formatProgress(p: Progress, totalMs: number): string {
  const secs = (ms: number) => `${Math.floor(ms / 1000)}s`;
  return (
    `${p.phase.padEnd(7)} ${secs(p.elapsedMs)}/${secs(totalMs)}  ` +
    `${Math.round(p.rate)} req/s  p99 ${p.p99Ms.toFixed(2)} ms  errors ${p.errors}  in flight ${p.inFlight}`
  );
}

export function progressLine(stream: NodeJS.WriteStream, totalMs: number): { update(p: Progress): void; done(): void } | null {
  if (!stream.isTTY) return null;
  let drawn = false;
  return {
    update(p) {
      stream.write(`\r\x1b[2K${formatProgress(p, totalMs)}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}
