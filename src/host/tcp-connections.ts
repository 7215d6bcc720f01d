/**
 * Which end of each of its open TCP connections a process is, from /proc:
 * the kernel probes first see a connection open before they came (a warm
 * connection pool) mid-conversation, and cannot tell who spoke first. The
 * server end is the one whose local port some socket of its network
 * namespace listens on (a cluster's workers serve connections their
 * primary's listener accepted); every other end is a client's.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { endianness } from 'node:os';

/** A connection by its two ends. */
export interface ConnectionEnds {
  family: 4 | 6;
  /** Network byte order: 4 bytes for IPv4, 16 for IPv6. */
  localAddress: Buffer;
  localPort: number;
  remoteAddress: Buffer;
  remotePort: number;
}

export interface ConnectionRole extends ConnectionEnds {
  role: 'client' | 'server';
}

export interface TcpRow extends ConnectionEnds {
  /** The kernel's TCP state: 1 established, 10 listening. */
  state: number;
  inode: number;
}

const ESTABLISHED = 1;
const LISTEN = 10;
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * An address as /proc/net/tcp{,6} prints it: each 32-bit word of the
 * address's bytes as the machine reads it, in hex. Written back the same
 * way, the words give the bytes in network order.
 */
function addressBytes(hex: string): Buffer {
  const out = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < hex.length / 8; i++) {
    const word = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    if (LITTLE_ENDIAN) out.writeUInt32LE(word, i * 4);
    else out.writeUInt32BE(word, i * 4);
  }
  return out;
}

/** The rows of /proc/PID/net/tcp (family 4) or tcp6 (family 6). */
export function parseTcpTable(text: string, family: 4 | 6): TcpRow[] {
  const rows: TcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [localHex, localPort] = f[1]!.split(':') as [string, string];
    const [remoteHex, remotePort] = f[2]!.split(':') as [string, string];
    rows.push({
      family,
      localAddress: addressBytes(localHex),
      localPort: Number.parseInt(localPort, 16),
      remoteAddress: addressBytes(remoteHex),
      remotePort: Number.parseInt(remotePort, 16),
      state: Number.parseInt(f[3]!, 16),
      inode: Number(f[9]),
    });
  }
  return rows;
}

/** The established connections among `rows` whose socket is one of `inodes`, each with the end it is. */
export function rolesOf(rows: readonly TcpRow[], inodes: ReadonlySet<number>): ConnectionRole[] {
  const listening = new Set(rows.filter((r) => r.state === LISTEN).map((r) => r.localPort));
  return rows
    .filter((r) => r.state === ESTABLISHED && inodes.has(r.inode))
    .map(({ state, inode, ...ends }) => ({ ...ends, role: listening.has(ends.localPort) ? 'server' : 'client' }));
}

/** The inodes of a process's sockets; empty when it is gone or not ours to read. */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}

function tcpTables(pid: number): TcpRow[] {
  const read = (name: string, family: 4 | 6): TcpRow[] => {
    try {
      return parseTcpTable(readFileSync(`/proc/${pid}/net/${name}`, 'utf8'), family);
    } catch {
      return [];
    }
  };
  return [...read('tcp', 4), ...read('tcp6', 6)];
}

/** The network namespace a process is in, or its pid where that cannot be read. */
function netns(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return String(pid);
  }
}

/**
 * The open TCP connections of these processes, each with the end it is.
 * The TCP tables list a whole network namespace, and reading them walks its
 * every socket (7 ms here on a slow day): they are read once a namespace,
 * for all its processes.
 */
export function connectionRoles(pids: readonly number[]): ConnectionRole[] {
  const byNetns = new Map<string, { pid: number; inodes: Set<number> }>();
  for (const pid of pids) {
    const inodes = socketInodes(pid);
    if (!inodes.size) continue;
    const ns = netns(pid);
    const seen = byNetns.get(ns);
    if (seen) for (const inode of inodes) seen.inodes.add(inode);
    else byNetns.set(ns, { pid, inodes });
  }
  return [...byNetns.values()].flatMap(({ pid, inodes }) => rolesOf(tcpTables(pid), inodes));
}
