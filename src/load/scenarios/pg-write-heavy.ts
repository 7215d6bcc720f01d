/** pg-write-heavy: batched INSERTs of 1 KB JSON rows through a pg pool. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { required, type Scenario } from '../scenario.ts';

const BATCH = 10;
const MAX_POOL = 32;
const FILLER = 'x'.repeat(900);

export const pgWriteHeavy: Scenario = {
  name: 'pg-write-heavy',
  description: `INSERTs of ${BATCH} rows of 1 KB JSON per request (pg pool)`,
  needs: { target: false, redis: false, pg: true },
  async open({ pgUrl, connections }) {
    const max = Math.min(connections, MAX_POOL);
    const pool = new pg.Pool({ connectionString: required(pgUrl, 'PostgreSQL'), max });
    await pool.query('CREATE TABLE IF NOT EXISTS wireflame_rows (id bigserial PRIMARY KEY, doc jsonb NOT NULL)');
    // Open every connection now: connecting mid-run would be measured as load,
    // and the server's worker for each must exist before the kernel watches.
    const warm = await Promise.all(Array.from({ length: max }, () => pool.connect()));
    for (const client of warm) client.release();
    return {
      async operation(seq) {
        const docs = Array.from({ length: BATCH }, (_, i) => JSON.stringify({ id: randomUUID(), seq, i, filler: FILLER }));
        await pool.query('INSERT INTO wireflame_rows (doc) SELECT unnest($1::jsonb[])', [docs]);
      },
      close: () => pool.end(),
    };
  },
};
