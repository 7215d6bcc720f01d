/**
 * http-get: GET one URL over HTTP/1.1 keep-alive: `--target` as given, path
 * and query included, or the embedded target's `/`. The cheapest request a
 * service can answer, for measuring what sits in its way (an agent, a proxy).
 */
import { HttpClient } from '../http-client.ts';
import { required, type Scenario } from '../scenario.ts';

export const httpGet: Scenario = {
  name: 'http-get',
  description: 'GET the target URL (HTTP/1.1 keep-alive)',
  needs: { target: true, redis: false, pg: false },
  async open({ targetUrl, connections }) {
    const url = new URL(required(targetUrl, 'a target'));
    const client = new HttpClient(url.origin, connections);
    const path = url.pathname + url.search;
    return {
      async operation() {
        await client.send('GET', path);
      },
      close: () => client.close(),
    };
  },
};
