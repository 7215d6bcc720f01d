/**
 * The wireflame command line. Every failure a person can cause or meet ends
 * in one line on stderr and a non-zero exit, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { DEFAULT_PIN_DIR } from '../kernel/pinned.ts';
import { agent, type AgentFlags } from './agent.ts';
import { compare } from './compare.ts';
import { doctor, formatDoctor } from './doctor.ts';
import { DEFAULT_RATE } from './run-plan.ts';
import { run } from './run.ts';
import { UsageError } from './usage-error.ts';

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

program
  .command('run')
  .description('drive a service under load while the agent watches, then say how it went and why it was slow')
  .option('--scenario <name>', 'http-json-api, redis-read-heavy, pg-write-heavy or api-mixed', 'http-json-api')
  .option('--duration <time>', 'measured time, e.g. 30s, 5m', '30s')
  .option('--warmup <time>', 'unmeasured time before it, or 0', '5s')
  .option('--rate <n>', `requests per second, open loop (default ${DEFAULT_RATE} when --connections is not given)`)
  .option('--connections <n>', 'closed loop with this many connections; with --rate, the open loop\'s pool size')
  .option('--out <dir>', 'where result.json goes (default runs/<time>-<scenario>/)')
  .option('--target <url>', 'drive this service instead of the embedded one')
  .option('--target-pid <pid>', 'with --target: the process to observe in the kernel')
  .option('--redis-url <url>', 'use this Redis instead of a throw-away one')
  .option('--pg-url <url>', 'use this PostgreSQL instead of a throw-away one')
  .option('--exporter <name>', 'also export the run: prometheus (with --pushgateway)')
  .option('--pushgateway <url>', 'the Prometheus Pushgateway to push the run to')
  .option('--otlp-endpoint <url>', 'send the embedded target\'s spans here (OTLP/gRPC, e.g. http://127.0.0.1:4317)')
  .option('--target-profile <dir>', 'with --target-pid: the WIREFLAME_PROFILE_DIR of a target run under the register entry; its profile joins the verdict')
  .option('--no-profile', 'do not profile the embedded target (by default its fused profile and flame graph go to --out)')
  .option('--json', 'print result.json on stdout')
  .action(async (opts) => {
    process.exitCode = await run(opts);
  });

const collect = (value: string, previous: string[]) => [...previous, value];
program
  .command('agent')
  .description('load the programs once for this machine and pin their maps for services to use (until SIGTERM)')
  .option('--pin-dir <dir>', 'where in bpffs the maps are pinned', DEFAULT_PIN_DIR)
  .option('--pid <pid>', 'observe this process (repeatable)', collect, [])
  .option('--cgroup <path>', 'observe the processes of this cgroup v2 (repeatable)', collect, [])
  .option('--all', 'observe every process')
  .option('--pin-group <group>', 'let this group\'s services write the shared maps (no capability needed where the kernel allows)')
  .action(async (opts: AgentFlags) => {
    process.exitCode = await agent(opts);
  });

program
  .command('compare')
  .description('per metric, the change from BASE to NEW and whether it exceeds the noise; exit 1 on a regression')
  .argument('[base]', 'result.json of the base run')
  .argument('[new]', 'result.json of the new run')
  .option('--base <file>', 'a base run (repeat for several)', collect, [])
  .option('--new <file>', 'a new run (repeat for several)', collect, [])
  .option('--min-change <pct>', 'smallest relative change that counts', '5')
  .option('--json', 'print the comparison as JSON')
  .action((base: string | undefined, next: string | undefined, opts: { base: string[]; new: string[]; minChange: string; json?: boolean }) => {
    process.exitCode = compare({
      base: [...(base ? [base] : []), ...opts.base],
      new: [...(next ? [next] : []), ...opts.new],
      minChange: opts.minChange,
      json: opts.json,
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof UsageError) fail(err.message, 2);
  fail(err instanceof Error ? err.message : String(err));
}
