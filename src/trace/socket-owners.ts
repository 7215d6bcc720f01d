/**
 * Tells the kernel which span owns a socket, through the shared maps. One
 * bpf() call when the owner changes and none when it does not: a keep-alive
 * socket that writes twice for one request is written once, and a socket's
 * cookie is asked once in its life.
 */
import type { Socket } from 'node:net';
import type { StageAgg } from '../kernel/codec.ts';
import type { Stage } from '../kernel/layout.ts';
import type { SharedMaps } from '../kernel/shared-maps.ts';

const COOKIE = Symbol('wireflame.cookie');
const OWNER = Symbol('wireflame.owner');

interface Tagged {
  [COOKIE]?: bigint;
  [OWNER]?: string;
}

export interface OwnerCounters {
  /** Owner changes written to the kernel. */
  writes: number;
  /** Writes skipped: the socket already belonged to that span. */
  unchanged: number;
  /** Sockets that could not be tagged (closed, not TCP, map full). */
  failed: number;
}

export class SocketOwners {
  readonly counters: OwnerCounters = { writes: 0, unchanged: 0, failed: 0 };
  private readonly maps: SharedMaps;

  constructor(maps: SharedMaps) {
    this.maps = maps;
  }

  /**
   * From now on the socket's kernel time goes to the span. A server socket's
   * received bytes belong to the request they start, so they were parked in
   * the kernel; they are claimed here and returned.
   */
  own(socket: Socket, traceId: string, spanId: string, server: boolean): StageAgg | null {
    const s = socket as Socket & Tagged;
    const key = traceId + spanId;
    if (s[OWNER] === key) {
      this.counters.unchanged++;
      return null;
    }
    const cookie = this.cookie(s);
    if (cookie === null) return null;
    try {
      const parked = server ? this.maps.takeRxPending(cookie) : null;
      this.maps.setOwner(cookie, { traceId, spanId, server });
      s[OWNER] = key;
      this.counters.writes++;
      return parked;
    } catch {
      this.counters.failed++;
      return null;
    }
  }

  /** The span's kernel time, removed from the kernel (one lookup). */
  take(traceId: string, spanId: string): Record<Stage, StageAgg> | null {
    try {
      return this.maps.takeSpanStats({ traceId, spanId });
    } catch {
      this.counters.failed++;
      return null;
    }
  }

  private cookie(s: Socket & Tagged): bigint | null {
    if (s[COOKIE] !== undefined) return s[COOKIE];
    try {
      s[COOKIE] = this.maps.socketCookie(s);
    } catch {
      // Not connected yet, or not TCP: asked again next time.
      this.counters.failed++;
      return null;
    }
    return s[COOKIE];
  }
}
