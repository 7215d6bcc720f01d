// The published schema is the declared one, not a copy that drifted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ResultSchema } from '../src/report/result-schema.ts';

test('schemas/result.schema.json is generated from the declaration (npm run schema)', () => {
  const published = JSON.parse(readFileSync(new URL('../schemas/result.schema.json', import.meta.url), 'utf8'));
  const { $schema, ...rest } = published;
  assert.equal($schema, 'http://json-schema.org/draft-07/schema#');
  assert.deepEqual(rest, JSON.parse(JSON.stringify(ResultSchema)));
  for (const field of ['tps_avg', 'latency_p50_ms', 'latency_p999_ms', 'error_rate_pct', 'requests_total', 'errors_total', 'kernel', 'verdict']) {
    assert.ok(published.required.includes(field), field);
  }
});
