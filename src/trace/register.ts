/**
 * `node --import wireflame/register app.js`: traces the service with no code
 * change. Settings come from the environment (see README, "Tracing a
 * service"); a bad one stops the service at start with one line.
 */
import './warm-next-tick.ts';
import { TracingConfigError, tracingConfig } from './config.ts';
import { startTracing, tracingSummary } from './start.ts';

try {
  const config = tracingConfig(process.env);
  const tracing = await startTracing(config);
  // Spans still queued are sent when the service winds down by itself.
  process.once('beforeExit', () => void tracing.shutdown());
  // First of the exit listeners: @datadog/pprof's own stops the profiler and drops its samples.
  process.prependOnceListener('exit', () => tracing.writeProfile());
  process.once('exit', () => process.stderr.write(`${tracingSummary(tracing)}\n`));
  // On demand, like pprof's endpoint: `kill -USR2 PID` writes the profile so far (wireflame run --target-profile does).
  if (config.profileDir) process.on('SIGUSR2', () => tracing.dumpProfile());
} catch (err) {
  if (!(err instanceof TracingConfigError)) throw err;
  process.stderr.write(`wireflame: ${err.message}\n`);
  process.exit(2);
}
