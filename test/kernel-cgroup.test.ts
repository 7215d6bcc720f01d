// The cgroup filter (DaemonSet mode): processes in an observed cgroup v2 are
// recorded, processes outside it are not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { KernelSession } from '../src/kernel/session.ts';
import { closeSocket, connect, echoServer, roundTrip } from './helpers/tcp.ts';

const cgroup = `/sys/fs/cgroup/unified/wireflame-test-${process.pid}`;

test('only processes in the observed cgroup are recorded', async () => {
  mkdirSync(cgroup);
  after(() => rmdirSync(cgroup));
  const session = KernelSession.open({ filter: { kind: 'cgroups', paths: [cgroup] } });
  after(() => session.close());

  // A child that waits for its cue, so that it can be moved into the cgroup first.
  const script = `
    const net = require('node:net');
    process.stdin.once('data', () => {
      const srv = net.createServer((c) => c.on('data', (d) => c.write(d)));
      srv.listen(0, '127.0.0.1', () => {
        const c = net.connect(srv.address().port, '127.0.0.1', () => c.write('ping'));
        c.on('data', () => { process.stdout.write('pong\\n'); c.end(); srv.close(); });
      });
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  writeFileSync(`${cgroup}/cgroup.procs`, String(child.pid));
  const sendsBefore = session.counters().tcp_sendmsg.hits;

  // This process is outside the cgroup: its traffic is not recorded.
  const { server, port } = await echoServer(1);
  const ours = await connect(port);
  await roundTrip(ours, 100, 100);
  await closeSocket(ours);
  server.close();
  assert.equal(session.counters().tcp_sendmsg.hits, sendsBefore, 'a process outside the cgroup is not observed');

  child.stdin.end('go');
  assert.match((await once(child.stdout.setEncoding('utf8'), 'data'))[0] as string, /pong/);
  await once(child, 'exit');
  assert.ok(session.counters().tcp_sendmsg.hits >= sendsBefore + 2n, 'the process in the cgroup is');
});
