/**
 * Runs the embedded target in its own process, so that the generator's CPU
 * and the service's are measured apart. Backends come from the environment
 * (WIREFLAME_REDIS_URL, WIREFLAME_PG_URL). Prints {"port": N} once listening.
 */
import { currentTracing } from '../../trace/start.ts';
import { buildTargetApp } from './app.ts';

const app = await buildTargetApp({
  redisUrl: process.env.WIREFLAME_REDIS_URL,
  pgUrl: process.env.WIREFLAME_PG_URL,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
// Spans still queued for export go out before the process does.
process.on('SIGTERM', () => void app.close().then(() => currentTracing()?.shutdown()).then(() => process.exit(0)));
