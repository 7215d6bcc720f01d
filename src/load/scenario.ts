/** What a scenario is: what it needs, and how to make one operation against its system. */
import type { Operation } from './generator.ts';

export interface ScenarioNeeds {
  /** It drives an HTTP service (the embedded target unless --target is given). */
  target: boolean;
  redis: boolean;
  pg: boolean;
}

export interface ScenarioContext {
  targetUrl?: string;
  redisUrl?: string;
  pgUrl?: string;
  /** Connections to open to the system under load. */
  connections: number;
}

export interface ScenarioSession {
  operation: Operation;
  close(): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  needs: ScenarioNeeds;
  open(ctx: ScenarioContext): Promise<ScenarioSession>;
}

/** A context field the scenario needs; its absence is a bug in the caller. */
export function required(value: string | undefined, what: string): string {
  if (!value) throw new Error(`scenario needs ${what}`);
  return value;
}
