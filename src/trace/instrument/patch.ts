/** What patching a client library's classes takes, shared by the pg and ioredis instrumentations. */

/** A class whose prototype methods are wrapped. */
export interface Patchable {
  prototype: Record<string | symbol, unknown>;
}

export type Method = (...args: unknown[]) => unknown;

/** A failed call's error as a span's error message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
