/**
 * Makes loopback TCP traffic of this process's own and reports which hooks
 * saw it: proof that each attach point fires, not just that it loaded.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { HookName } from './hooks.ts';
import type { HookCounter } from './layout.ts';
import type { KernelSession } from './session.ts';

/** The per-CPU counters that show a logical hook fired. */
export const HOOK_EVIDENCE: Record<HookName, readonly HookCounter[]> = {
  tcp_sendmsg: ['tcp_sendmsg'],
  ip_local_out: ['ip_out'],
  dev_xmit: ['dev_queue', 'dev_xmit'],
  rx_ready: ['rx_ready'],
  rx_read: ['rx_read'],
  sock_close: ['sock_close'],
};

/** Request/response exchanges on one keep-alive connection, then a close. */
export async function loopbackExchange(rounds = 5): Promise<void> {
  const server = net.createServer((conn) => {
    conn.on('data', (d) => conn.write(Buffer.alloc(d.length * 4, 0x72)));
    conn.on('error', () => conn.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  try {
    for (let i = 1; i <= rounds; i++) {
      const expect = 256 * i * 4;
      let got = 0;
      const done = new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          got += d.length;
          if (got >= expect) {
            client.off('data', onData);
            resolve();
          }
        };
        client.on('data', onData);
      });
      client.write(Buffer.alloc(256 * i, 0x71));
      await done;
    }
  } finally {
    client.end();
    await once(client, 'close');
    server.close();
  }
}

/** Which hooks fired during `traffic`, judged by counter deltas. */
export async function hooksThatFire(
  session: KernelSession,
  traffic: () => Promise<void> = loopbackExchange,
): Promise<Record<HookName, boolean>> {
  const before = session.counters();
  await traffic();
  // sock_close fires from the kernel's close path, a moment after 'close'.
  await new Promise((r) => setTimeout(r, 50));
  const after = session.counters();
  const fired = (c: HookCounter) => after[c].hits > before[c].hits;
  return Object.fromEntries(
    Object.entries(HOOK_EVIDENCE).map(([hook, counters]) => [hook, counters.every(fired)]),
  ) as Record<HookName, boolean>;
}
