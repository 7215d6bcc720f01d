// Which end of its open TCP connections a process is, from /proc: what the
// probes cannot see for a connection open before they came.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionRoles, parseTcpTable, rolesOf } from '../src/host/tcp-connections.ts';
import { connect, echoServer } from './helpers/tcp.ts';

// As a little-endian machine prints them: 127.0.0.1:3000 listening, a
// connection to it from port 40000, and one from port 40001 to 127.0.0.1:5432.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 102 1 0 20 4 30 10 -1
   2: 0100007F:9C40 0100007F:0BB8 01 00000000:00000000 00:00000000 00000000     0        0 103 1 0 20 4 30 10 -1
   3: 0100007F:9C41 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 104 1 0 20 4 30 10 -1
`;
// ::1 port 8080 from port 50000.
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000     0        0 201 1 0 20 4 30 10 -1
`;

test('rows decode to network-order addresses and host-order ports', () => {
  const [listen, , , pg] = parseTcpTable(TCP, 4);
  assert.deepEqual([...listen!.localAddress], [127, 0, 0, 1]);
  assert.equal(listen!.localPort, 3000);
  assert.equal(listen!.state, 10);
  assert.equal(pg!.remotePort, 5432);
  assert.equal(pg!.inode, 104);
  const [v6] = parseTcpTable(TCP6, 6);
  assert.deepEqual([...v6!.localAddress], [...Array(15).fill(0), 1]);
  assert.equal(v6!.remotePort, 50000);
});

test('an end is the server where its local port is listened on, the client otherwise; only the given sockets count', () => {
  const roles = rolesOf(parseTcpTable(TCP, 4), new Set([102, 104]));
  assert.deepEqual(
    roles.map((r) => [r.localPort, r.remotePort, r.role]),
    [
      [3000, 40000, 'server'],
      [40001, 5432, 'client'],
    ],
  );
});

test("this process's own connections, read from /proc", async () => {
  const { server, port } = await echoServer(1);
  const client = await connect(port);
  try {
    const roles = connectionRoles([process.pid]);
    const mine = roles.filter((r) => r.localPort === client.localPort || r.remotePort === client.localPort);
    assert.deepEqual(mine.map((r) => r.role).sort(), ['client', 'server'], JSON.stringify(mine));
    const asClient = mine.find((r) => r.role === 'client')!;
    assert.equal(asClient.remotePort, port);
    assert.deepEqual([...asClient.remoteAddress.subarray(-4)], [127, 0, 0, 1]);
  } finally {
    client.destroy();
    server.close();
  }
});
