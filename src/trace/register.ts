/**
 * `node --import wireflame/register app.js`: traces the service with no code
 * change. Settings come from the environment (see README, "Tracing a
 * service"); a bad one stops the service at start with one line.
 */
import { TracingConfigError, tracingConfig } from './config.ts';
import { startTracing, tracingSummary } from './start.ts';

try {
  const tracing = await startTracing(tracingConfig(process.env));
  // Spans still queued are sent when the service winds down by itself.
  process.once('beforeExit', () => void tracing.shutdown());
  // First of the exit listeners: @datadog/pprof's own stops the profiler and drops its samples.
  process.prependOnceListener('exit', () => tracing.writeProfile());
  process.once('exit', () => process.stderr.write(`${tracingSummary(tracing)}\n`));
} catch (err) {
  if (!(err instanceof TracingConfigError)) throw err;
  process.stderr.write(`wireflame: ${err.message}\n`);
  process.exit(2);
}
