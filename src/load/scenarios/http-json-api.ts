/**
 * http-json-api: GET and POST /v1/data with JSON bodies carrying a random
 * UUID, over HTTP/1.1 keep-alive (undici's pool).
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { Scenario } from '../scenario.ts';

const REQUEST_TIMEOUT_MS = 30_000;

class HttpStatusError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number) {
    super(`HTTP ${statusCode}`);
    this.statusCode = statusCode;
  }
}

export const httpJsonApi: Scenario = {
  name: 'http-json-api',
  description: 'GET and POST /v1/data with JSON bodies (HTTP/1.1 keep-alive)',
  async open({ targetUrl, connections }) {
    const pool = new Pool(targetUrl, {
      connections,
      pipelining: 1,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const recent: string[] = [];
    return {
      async operation(seq) {
        const post = seq % 2 === 1;
        const id = post || recent.length === 0 ? randomUUID() : recent[seq % recent.length]!;
        const res = post
          ? await pool.request({
              path: '/v1/data',
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ id, payload: { seq, note: 'wireflame', at: Date.now() } }),
            })
          : await pool.request({ path: `/v1/data/${id}`, method: 'GET' });
        await res.body.dump();
        if (res.statusCode >= 400) throw new HttpStatusError(res.statusCode);
        if (post) {
          if (recent.length >= 1024) recent[seq % 1024] = id;
          else recent.push(id);
        }
      },
      close: () => pool.close(),
    };
  },
};
