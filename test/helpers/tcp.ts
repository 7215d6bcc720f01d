/** Real TCP peers on loopback (or any address) for the kernel tests. */
import net from 'node:net';
import { once } from 'node:events';

export interface EchoServer {
  server: net.Server;
  port: number;
  /** The server's side of each connection, by the client's port. */
  connections: Map<number, net.Socket>;
}

/** A server that answers every message of n bytes with n * factor bytes. */
export async function echoServer(factor: number, host = '127.0.0.1'): Promise<EchoServer> {
  const connections = new Map<number, net.Socket>();
  const server = net.createServer((conn) => {
    connections.set(conn.remotePort!, conn);
    conn.on('data', (d) => conn.write(Buffer.alloc(d.length * factor, 0x72)));
    conn.on('error', () => conn.destroy());
    conn.on('close', () => connections.delete(conn.remotePort!));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, connections };
}

export async function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/** Writes `bytes` and waits until `expect` bytes came back. */
export function roundTrip(socket: net.Socket, bytes: number, expect: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= expect) {
        socket.off('data', onData);
        socket.off('error', reject);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(Buffer.alloc(bytes, 0x71));
  });
}

export async function closeSocket(socket: net.Socket): Promise<void> {
  socket.end();
  if (!socket.closed) await once(socket, 'close');
}

/** A server that answers every `chunk` bytes received with one byte. */
export async function ackServer(chunk: number, host = '127.0.0.1'): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((conn) => {
    let pending = 0;
    conn.on('data', (d) => {
      pending += d.length;
      for (; pending >= chunk; pending -= chunk) conn.write('k');
    });
    conn.on('error', () => conn.destroy());
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}
