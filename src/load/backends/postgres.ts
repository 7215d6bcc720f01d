/**
 * A throw-away PostgreSQL cluster on a free port: initdb into a temp dir,
 * durability off (it is thrown away), removed when stopped. PostgreSQL will
 * not run as root, so as root the cluster belongs to the postgres user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BackendUnavailableError, stopChild, waitUntilReady, type Backend } from './child.ts';
import { freePort } from './free-port.ts';

const PG_ROOT = '/usr/lib/postgresql';

function postgresBin(): string {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(PG_ROOT, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
  if (!bin) throw new BackendUnavailableError('PostgreSQL is not installed: run npm run setup, or pass --pg-url');
  return bin;
}

/** As root: run as the postgres user (runuser), owning the data dir. */
function asServerUser(dir: string): string[] {
  if (userInfo().uid !== 0) return [];
  const { uid, gid } = { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
  chownSync(dir, uid, gid);
  return ['runuser', '-u', 'postgres', '--'];
}

export async function startPostgres(): Promise<Backend> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'wireflame-pg-'));
  const stopEarly = () => rmSync(dir, { recursive: true, force: true });
  let prefix: string[];
  try {
    prefix = asServerUser(dir);
    const data = join(dir, 'data');
    const [cmd, ...args] = [...prefix, join(bin, 'initdb'), '-D', data, '-U', 'wireflame', '-A', 'trust', '--no-sync', '-E', 'UTF8'];
    execFileSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    stopEarly();
    if (err instanceof BackendUnavailableError) throw err;
    throw new BackendUnavailableError(`PostgreSQL initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? err).split('\n')[0]}`);
  }
  const port = await freePort();
  const [cmd, ...args] = [
    ...prefix,
    join(bin, 'postgres'),
    '-D', join(dir, 'data'),
    '-p', String(port),
    '-k', dir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'fsync=off',
    '-c', 'synchronous_commit=off',
    '-c', 'full_page_writes=off',
    '-c', 'max_connections=200',
  ];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `postgres://wireflame@127.0.0.1:${port}/postgres`;
  // runuser forwards SIGTERM; postgres takes SIGINT as a fast shutdown.
  const stop = async () => {
    await stopChild(child, prefix.length ? 'SIGTERM' : 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(child, 'PostgreSQL', async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      await client.connect();
      await client.end();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, stop };
}
