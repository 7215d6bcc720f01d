/**
 * The profile of a service run with the register entry and
 * WIREFLAME_PROFILE_DIR: at the end of a run it is asked for with SIGUSR2
 * (only if the service catches that signal: to any other process it would
 * be fatal) and read back from its summary.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROFILE_SUMMARY_FILE, readProfileSummary } from '../profile/profile-summary.ts';
import type { ProfileSummaryResult } from '../report/result-schema.ts';
import { UsageError } from './usage-error.ts';

const SIGUSR2 = 12;

/** Whether the process has a handler for the signal (the SigCgt mask of /proc/PID/status). */
export function catchesSignal(status: string, signo: number): boolean {
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  return m !== null && ((BigInt(`0x${m[1]}`) >> BigInt(signo - 1)) & 1n) === 1n;
}

function modifiedMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Throws, in one line, unless the process is alive and answers SIGUSR2 (checked before a run, and again at its end). */
export function assertTargetProfiles(pid: number, dir: string): void {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw new UsageError(`--target-profile: process ${pid} is gone`);
  }
  if (!catchesSignal(status, SIGUSR2)) {
    throw new UsageError(`--target-profile: process ${pid} does not profile: start it with WIREFLAME_PROFILE_DIR=${dir} node --import wireflame/register`);
  }
}

export async function dumpTargetProfile(pid: number, dir: string, timeoutMs = 10_000): Promise<ProfileSummaryResult> {
  assertTargetProfiles(pid, dir);
  const summary = join(dir, PROFILE_SUMMARY_FILE);
  const before = modifiedMs(summary);
  process.kill(pid, 'SIGUSR2');
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
    if (modifiedMs(summary) > before) {
      const read = readProfileSummary(dir);
      if (read) return read;
    }
  }
  throw new Error(`--target-profile: process ${pid} wrote no profile in ${dir} within ${timeoutMs / 1000} s (is that its WIREFLAME_PROFILE_DIR?)`);
}
