/**
 * The generator's HTTP/1.1 client: undici's connection pool driven through
 * its dispatch API, so that a request costs no stream and no body object,
 * only a status code. Response bodies are read and dropped.
 */
import { Pool, type Dispatcher } from 'undici';

const REQUEST_TIMEOUT_MS = 30_000;

export class HttpStatusError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number) {
    super(`HTTP ${statusCode}`);
    this.statusCode = statusCode;
  }
}

export class HttpClient {
  private readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, {
      connections,
      pipelining: 1,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  /** Resolves with the status code; rejects on network errors and on 4xx/5xx. */
  send(method: Dispatcher.HttpMethod, path: string, json?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let status = 0;
      this.pool.dispatch(
        {
          method,
          path,
          headers: json === undefined ? undefined : { 'content-type': 'application/json' },
          body: json,
        },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData() {},
          onResponseEnd() {
            if (status >= 400) reject(new HttpStatusError(status));
            else resolve(status);
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        },
      );
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
