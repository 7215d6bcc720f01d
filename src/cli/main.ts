/**
 * The wireflame command line. Every failure a person can cause or meet ends
 * in one line on stderr and a non-zero exit, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { doctor, formatDoctor } from './doctor.ts';

function fail(message: string, code = 1): never {
  process.stderr.write(`wireflame: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

const program = new Command()
  .name('wireflame')
  .description('Why was the load run slow? CPU, kernel queueing and backend waits, per request.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('doctor')
  .description('check what this machine offers: kernel, BTF, privileges, and the attach point of each hook')
  .option('--json', 'print the report as JSON')
  .option('--live', 'make loopback traffic and check that every hook fires')
  .action(async (opts: { json?: boolean; live?: boolean }) => {
    const report = await doctor(Boolean(opts.live));
    process.stdout.write(`${opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report)}\n`);
    if (!Object.values(report.hooks).every((h) => h.ok)) {
      // The human report lists its problems; JSON readers get the first one on stderr.
      if (opts.json) process.stderr.write(`wireflame: ${report.problems[0] ?? 'a hook is not usable'}\n`);
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  fail(err instanceof Error ? err.message : String(err));
}
