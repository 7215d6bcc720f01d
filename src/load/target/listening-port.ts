/** The port a child server reports on its first stdout line, {"port": N}. */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Rejects, with `detail()` (its stderr, say), when the child exits before saying. */
export async function listeningPort(child: ChildProcess, what: string, detail: () => string = () => ''): Promise<number> {
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${what} exited with code ${code} before listening${detail() ? `: ${detail().trim()}` : ''}`);
  });
  const line = once(child.stdout!.setEncoding('utf8'), 'data').then(([chunk]) => String(chunk));
  const { port } = JSON.parse(await Promise.race([line, exited])) as { port: number };
  exited.catch(() => {});
  return port;
}
