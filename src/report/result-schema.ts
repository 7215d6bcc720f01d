/**
 * The run result (result.json), declared once: TypeBox gives both the
 * TypeScript type and the JSON Schema published as schemas/result.schema.json.
 * Field names of the load suite it replaces are kept (tps_avg, latency_*_ms,
 * error_rate_pct, requests_total, errors_total).
 */
import { Type, type Static } from '@sinclair/typebox';

const Ms = Type.Number({ minimum: 0, description: 'milliseconds' });

const StageSummary = Type.Object({
  count: Type.Integer({ minimum: 0 }),
  total_ms: Ms,
  mean_us: Type.Number({ minimum: 0 }),
  p50_us: Type.Number({ minimum: 0, description: 'upper bound of the log2 bucket holding the median' }),
  p99_us: Type.Number({ minimum: 0, description: 'upper bound of the log2 bucket holding p99' }),
  max_us: Type.Number({ minimum: 0 }),
});

const Peer = Type.Object({
  address: Type.String(),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** What the run knows it to be (redis, postgresql), when it does. */
  service: Type.Optional(Type.String()),
  count: Type.Integer({ minimum: 0 }),
  total_ms: Ms,
  mean_ms: Ms,
  max_ms: Ms,
});

const Kernel = Type.Object({
  available: Type.Boolean(),
  /** Why kernel data is missing, when it is. */
  reason: Type.Optional(Type.String()),
  hooks: Type.Record(Type.String(), Type.Object({ mode: Type.String(), target: Type.String() })),
  stages: Type.Record(Type.String(), StageSummary),
  /** How long the observed processes waited for each backend to answer (client sockets). */
  peers: Type.Array(Peer),
  events: Type.Integer({ minimum: 0 }),
  event_drops: Type.Integer({ minimum: 0 }),
  map_full: Type.Integer({ minimum: 0 }),
  /**
   * Send calls whose last segment no hook saw (a tracepoint's program does
   * not run for every hit), ended late: by a later segment, or when the
   * peer acknowledged their bytes. Absent from results written before it
   * was counted, which `wireflame compare` still reads.
   */
  late_sends: Type.Optional(Type.Integer({ minimum: 0 })),
});

/** What the embedded target's fused profile says (the target writes it as profile-summary.json; a run copies it in). */
const ProfileSummary = Type.Object({
  /** Requests the profile covers, warm-up included. */
  requests: Type.Integer({ minimum: 0 }),
  /** Their wall time: the base of the profile's shares. */
  wall_ms: Ms,
  /**
   * Of it, JavaScript running for the requests: the thread CPU time of the
   * samples labelled with a request (time the thread spent waiting for a
   * CPU is not counted).
   */
  cpu_ms: Ms,
  /**
   * Where that JavaScript spent its CPU time, busiest first: each sample goes to
   * its innermost frame in the application's own code (outside Node's
   * internals, native code and node_modules), or to its leaf when it has none.
   */
  top_functions: Type.Array(Type.Object({ name: Type.String(), file: Type.String(), line: Type.Integer({ minimum: 0 }), time_ms: Ms })),
  /** Backend calls by operation (redis GET, pg INSERT), busiest first. */
  operations: Type.Array(Type.Object({ operation: Type.String(), count: Type.Integer({ minimum: 0 }), total_ms: Ms, mean_ms: Ms })),
  /** The profile's files, by name, beside result.json. */
  files: Type.Array(Type.String()),
  /** What the profile lacks, one line each. */
  notes: Type.Array(Type.String()),
});

const Cause = Type.Object({
  cause: Type.String({ description: 'what held the requests' }),
  share_pct: Type.Number({ minimum: 0, maximum: 100, description: 'share of total request time it explains' }),
  evidence: Type.String(),
});

const Verdict = Type.Object({
  status: Type.Union([Type.Literal('clean'), Type.Literal('slow'), Type.Literal('errors'), Type.Literal('inconclusive')]),
  summary: Type.String(),
  causes: Type.Array(Cause, { description: 'ranked, top cause first' }),
  missing: Type.Array(Type.String(), { description: 'views that were not available for this run' }),
});

const Host = Type.Object({
  cpu_model: Type.String(),
  cores: Type.Integer({ minimum: 0 }),
  memory_bytes: Type.Integer({ minimum: 0 }),
  kernel: Type.String(),
  os: Type.String(),
  nics: Type.Array(Type.Object({ name: Type.String(), speed_mbps: Type.Union([Type.Number(), Type.Null()]) })),
});

export const ResultSchema = Type.Object(
  {
    schema_version: Type.Literal(1),
    scenario: Type.String(),
    partial: Type.Boolean({ description: 'the run was interrupted: figures cover the part that ran' }),
    started_at: Type.String({ format: 'date-time' }),
    ended_at: Type.String({ format: 'date-time' }),
    target: Type.Object({ url: Type.String(), embedded: Type.Boolean() }),
    pacing: Type.Object({
      mode: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
      rate: Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()]),
      connections: Type.Integer({ minimum: 1 }),
    }),
    duration_sec: Type.Number({ minimum: 0, description: 'measured time, warm-up excluded' }),
    warmup_sec: Type.Number({ minimum: 0 }),
    tps_avg: Type.Number({ minimum: 0 }),
    latency_p50_ms: Ms,
    latency_p95_ms: Ms,
    latency_p99_ms: Ms,
    latency_p999_ms: Ms,
    latency_max_ms: Ms,
    latency_mean_ms: Ms,
    latency_histogram: Type.String({
      description: 'every measured latency in microseconds: a compressed base64 HdrHistogram, for comparisons',
    }),
    error_rate_pct: Type.Number({ minimum: 0, maximum: 100 }),
    requests_total: Type.Integer({ minimum: 0 }),
    errors_total: Type.Integer({ minimum: 0 }),
    errors_by_kind: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
    generator: Type.Object({
      cpu_pct: Type.Number({ minimum: 0 }),
      send_lag_p99_ms: Ms,
      saturated: Type.Boolean(),
      /**
       * CPU time the hypervisor took from this machine during the run (steal
       * in /proc/stat), in % of all of it; absent where unknown, and from
       * results written before it was measured.
       */
      steal_pct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    }),
    kernel: Kernel,
    host: Host,
    cloud: Type.Object({
      provider: Type.Union([Type.Literal('aws'), Type.Literal('azure'), Type.Literal('gcp'), Type.Literal('none')]),
      region: Type.Optional(Type.String()),
      zone: Type.Optional(Type.String()),
      instance_type: Type.Optional(Type.String()),
      instance_id: Type.Optional(Type.String()),
    }),
    profile: Type.Optional(ProfileSummary),
    verdict: Verdict,
  },
  { $id: 'wireflame/result.schema.json', title: 'Wireflame run result', additionalProperties: false },
);

export type RunResult = Static<typeof ResultSchema>;
export type KernelResult = Static<typeof Kernel>;
export type VerdictResult = Static<typeof Verdict>;
export type HostResult = Static<typeof Host>;
export type PeerResult = Static<typeof Peer>;
export type ProfileSummaryResult = Static<typeof ProfileSummary>;
export { ProfileSummary as ProfileSummarySchema };
export type CloudResult = RunResult['cloud'];
