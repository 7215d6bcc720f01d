/**
 * Evaluated before anything else the register loads. When a process
 * evaluates an ESM graph of ten modules or more before its first request
 * (the register's own graph is one), V8 later builds process.nextTick's
 * tick object on its slow property-definition path: 4-5 % of a fastify
 * server's samples go to DefineKeyedOwnPropertyInLiteral and MigrateToMap,
 * with or without tracing, and throughput drops by about a fifth. A couple of
 * thousand early calls settle the literal's feedback first and the slow path
 * never appears (`perf record` on bench/fixtures/hello-server.ts, see
 * bench/trace-overhead.ts). The callbacks are no-ops on the first tick.
 */
const noop = (): void => {};
for (let i = 0; i < 2000; i++) process.nextTick(noop);
