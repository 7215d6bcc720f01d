/** What a scenario is: a name, and how to make one operation against its system. */
import type { Operation } from './generator.ts';

export interface ScenarioContext {
  /** The HTTP service under load, for scenarios that drive one. */
  targetUrl: string;
  /** Connections to open to it. */
  connections: number;
}

export interface ScenarioSession {
  operation: Operation;
  close(): Promise<void>;
}

export interface Scenario {
  name: string;
  description: string;
  open(ctx: ScenarioContext): Promise<ScenarioSession>;
}
