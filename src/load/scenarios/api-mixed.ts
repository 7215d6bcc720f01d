/**
 * api-mixed: the http-json-api requests against the embedded target backed by
 * Redis (a read-through cache) and PostgreSQL (the store): the realistic
 * service to root-cause.
 */
import type { Scenario } from '../scenario.ts';
import { httpJsonApi } from './http-json-api.ts';

export const apiMixed: Scenario = {
  name: 'api-mixed',
  description: 'GET and POST /v1/data on a target that reads Redis and writes PostgreSQL',
  needs: { target: true, redis: true, pg: true },
  open: (ctx) => httpJsonApi.open(ctx),
};
