/**
 * http-json-api: GET and POST /v1/data with JSON bodies carrying a random
 * UUID, over HTTP/1.1 keep-alive.
 */
import { randomUUID } from 'node:crypto';
import { HttpClient } from '../http-client.ts';
import { required, type Scenario } from '../scenario.ts';

const RECENT = 1024;

export const httpJsonApi: Scenario = {
  name: 'http-json-api',
  description: 'GET and POST /v1/data with JSON bodies (HTTP/1.1 keep-alive)',
  needs: { target: true, redis: false, pg: false },
  async open({ targetUrl, connections }) {
    const client = new HttpClient(new URL(required(targetUrl, 'a target')).origin, connections);
    // GETs read back ids that POSTs wrote.
    const recent: string[] = [];
    return {
      async operation(seq) {
        if (seq % 2 === 1 || recent.length === 0) {
          const id = randomUUID();
          await client.send('POST', '/v1/data', JSON.stringify({ id, payload: { seq, note: 'wireflame' } }));
          if (recent.length < RECENT) recent.push(id);
          else recent[seq % RECENT] = id;
          return;
        }
        await client.send('GET', `/v1/data/${recent[seq % recent.length]}`);
      },
      close: () => client.close(),
    };
  },
};
