/** The scenarios `wireflame run --scenario` knows, by name. */
import { UsageError } from '../../cli/usage-error.ts';
import type { Scenario } from '../scenario.ts';
import { apiMixed } from './api-mixed.ts';
import { httpGet } from './http-get.ts';
import { httpJsonApi } from './http-json-api.ts';
import { pgWriteHeavy } from './pg-write-heavy.ts';
import { redisReadHeavy } from './redis-read-heavy.ts';

export const SCENARIOS: readonly Scenario[] = [httpJsonApi, httpGet, redisReadHeavy, pgWriteHeavy, apiMixed];

export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new UsageError(`unknown scenario '${name}' (known: ${SCENARIOS.map((x) => x.name).join(', ')})`);
  return s;
}
