/**
 * Weighted stacks as a gzipped pprof profile (pprof-format), readable by
 * `go tool pprof`, Grafana Pyroscope and speedscope. Synthetic frames get a
 * file name that says what they are ([kernel], [backend], ...), so that
 * pprof's own views can tell them from JavaScript.
 */
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Frame, WeightedStack } from './frames.ts';

export interface PprofOptions {
  /** When the profiled time began, ns since the epoch. */
  timeNanos: number;
  durationNanos: number;
}

export function toPprof(stacks: WeightedStack[], options: PprofOptions): Profile {
  const strings = new StringTable();
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const locationOf = new Map<string, number>();

  const locationId = (f: Frame): number => {
    const file = f.kind === 'cpu' ? (f.file ?? '') : `[${f.kind}]`;
    const key = `${f.name}\u0000${file}\u0000${f.line ?? 0}`;
    let id = locationOf.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      functions.push(new PprofFunction({ id, name: strings.dedup(f.name), systemName: strings.dedup(f.name), filename: strings.dedup(file) }));
      locations.push(new Location({ id, line: [new Line({ functionId: id, line: f.line ?? 0 })] }));
      locationOf.set(key, id);
    }
    return id;
  };

  const samples = stacks.map(
    (s) =>
      new Sample({
        // pprof wants the leaf first.
        locationId: s.frames.map(locationId).reverse(),
        value: [Math.round(s.ns)],
        label: Object.entries(s.labels).map(([k, v]) => new Label({ key: strings.dedup(k), str: strings.dedup(v) })),
      }),
  );
  const wall = new ValueType({ type: strings.dedup('wall'), unit: strings.dedup('nanoseconds') });
  return new Profile({
    sampleType: [wall],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: options.timeNanos,
    durationNanos: options.durationNanos,
    periodType: wall,
    period: 1,
  });
}

export function encodePprofGz(profile: Profile): Buffer {
  return gzipSync(profile.encode());
}
