/** Writes the published JSON Schema of result.json from its one declaration. */
import { writeFileSync } from 'node:fs';
import { ResultSchema } from '../src/report/result-schema.ts';

const file = new URL('../schemas/result.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ResultSchema }, null, 2)}\n`);
