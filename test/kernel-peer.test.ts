// A client's wait for its peer's answer, per peer: also when an earlier
// answer is still unread as the next request goes out (a pooled or
// pipelining client), each wait runs from its own request to its own answer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionRoles } from '../src/host/tcp-connections.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { SocketOwners } from '../src/trace/socket-owners.ts';
import { SpanId, TraceId } from '../src/trace/trace-context.ts';
import { connect, echoServer, roundTrip } from './helpers/tcp.ts';

const session = KernelSession.open();
after(() => session.close());

test('answer waits stay each their own while an earlier answer is unread', async () => {
  const { server, port } = await echoServer(1);
  const socket = await connect(port);
  // Nothing is read until both answers are in: the first stays in the
  // kernel's receive queue as the second request goes out. (pause() would
  // not do: the stream goes on reading into its own buffer.)
  (socket as unknown as { _handle: { readStop(): number } })._handle.readStop();
  socket.write('first');
  await sleep(50);
  socket.write('second');
  await sleep(50);
  socket.destroy();
  server.close();

  const peer = session.peerStats().find((p) => p.port === port && p.address === '127.0.0.1');
  assert.ok(peer, `the echo server among the peers: ${JSON.stringify(session.peerStats().map((p) => `[${p.address}]:${p.port}`))}`);
  assert.equal(peer.agg.count, 2, 'two answers');
  // Each answer comes back within a millisecond or so on loopback; the 50 ms pauses are not waits.
  assert.ok(peer.agg.sumNs < 20e6, `answer waits total ${peer.agg.sumNs / 1e6} ms`);
});

test('a peer over IPv6 is named by its address and port', async () => {
  const { server, port } = await echoServer(1, '::1');
  const socket = await connect(port, '::1');
  socket.write('ping');
  await sleep(50);
  socket.destroy();
  server.close();

  // By address and port: the first test's IPv4 server may have had the same port.
  const peer = session.peerStats().find((p) => p.port === port && p.address === '::1');
  assert.ok(peer, `the echo server among the peers: ${JSON.stringify(session.peerStats().map((p) => `[${p.address}]:${p.port}`))}`);
  assert.equal(peer.agg.count, 1, 'one answer');
});

test('a connection open before the probes waits on its peer once a client span owns it', async () => {
  const { server, port } = await echoServer(1);
  const socket = await connect(port);
  // A pool's connection, in use before the probes came: they first see it mid-conversation.
  await roundTrip(socket, 5, 5);
  const late = KernelSession.open({ sharedOwners: true });
  const peerOf = () => late.peerStats().find((p) => p.port === port && p.address === '127.0.0.1');
  try {
    await roundTrip(socket, 5, 5);
    assert.equal(peerOf(), undefined, 'no role of its own: which end asks is not known');
    new SocketOwners(late).own(socket, TraceId.random(), SpanId.random(), false);
    await roundTrip(socket, 5, 5);
    await roundTrip(socket, 5, 5);
    const peer = peerOf();
    assert.ok(peer, `the echo server among the peers: ${JSON.stringify(late.peerStats().map((p) => `[${p.address}]:${p.port}`))}`);
    assert.equal(peer.agg.count, 2, 'both answers under the client span');
  } finally {
    late.close();
    socket.destroy();
    server.close();
  }
});

test('a connection open before the probes waits on its peer when /proc says it is the client end', async () => {
  const { server, port } = await echoServer(1);
  const socket = await connect(port);
  await roundTrip(socket, 5, 5);
  const late = KernelSession.open();
  try {
    // Both ends are this process's: the server's end must not count as a client's.
    late.hintRoles(connectionRoles([process.pid]));
    await roundTrip(socket, 5, 5);
    await roundTrip(socket, 5, 5);
    const peers = late.peerStats().filter((p) => p.port === port || p.port === socket.localPort);
    assert.deepEqual(
      peers.map((p) => [p.port, p.agg.count]),
      [[port, 2]],
      'the echo server answered twice; the client, which never answers, is no peer',
    );
  } finally {
    late.close();
    socket.destroy();
    server.close();
  }
});
