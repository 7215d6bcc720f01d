/**
 * A second host for network tests: a network namespace joined to this one by
 * a veth pair, optionally with a slow tbf qdisc on our side so that bytes we
 * send queue in the device layer. Addresses are private to the pair.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface TestHost {
  name: string;
  /** Our address on the pair, and the namespace's. */
  localAddress: string;
  address: string;
  /** Runs a Node module (source text) inside the namespace; resolves once it prints its first line. */
  runNode(script: string): Promise<{ child: ChildProcess; firstLine: string }>;
  /** Starts helpers/tcp.ts's ackServer inside the namespace; resolves to its port. */
  ackServer(chunk: number): Promise<number>;
  remove(): void;
}

/**
 * `rate`: a tbf qdisc on our side. Its bucket (`burst`, 256 KB unless told)
 * lets that much through at once after a pause; it stays above the largest
 * TSO skb (64 KB) so that tbf never splits one.
 */
export function createTestHost(opts: { rate?: string; burst?: string; index?: number } = {}): TestHost {
  const n = opts.index ?? process.pid % 200;
  const name = `wf-test-${process.pid}`;
  const here = `wfh${n}a`;
  const there = `wfh${n}b`;
  const localAddress = `10.213.${n}.1`;
  const address = `10.213.${n}.2`;
  const children: ChildProcess[] = [];
  const remove = () => {
    for (const c of children) c.kill('SIGKILL');
    try {
      ip('link', 'del', here);
    } catch {}
    try {
      ip('netns', 'del', name);
    } catch {}
  };
  remove();
  try {
    ip('netns', 'add', name);
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', there);
    ip('link', 'set', there, 'netns', name);
    ip('addr', 'add', `${localAddress}/30`, 'dev', here);
    ip('link', 'set', here, 'up');
    ip('-n', name, 'addr', 'add', `${address}/30`, 'dev', there);
    ip('-n', name, 'link', 'set', there, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    if (opts.rate) {
      execFileSync('tc', ['qdisc', 'add', 'dev', here, 'root', 'tbf', 'rate', opts.rate, 'burst', opts.burst ?? '256kb', 'latency', '2s']);
    }
  } catch (err) {
    remove();
    throw err;
  }
  return {
    name,
    localAddress,
    address,
    async runNode(script) {
      const child = spawn('ip', ['netns', 'exec', name, process.execPath, '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const [chunk] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
      return { child, firstLine: chunk.split('\n')[0] ?? '' };
    },
    async ackServer(chunk) {
      const tcp = JSON.stringify(new URL('./tcp.ts', import.meta.url).href);
      const { firstLine } = await this.runNode(`
        const { ackServer } = await import(${tcp});
        const { port } = await ackServer(${chunk}, '0.0.0.0');
        console.log(port);`);
      return Number(firstLine);
    },
    remove,
  };
}
