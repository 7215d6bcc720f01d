/**
 * How far a median of rounds can be trusted. On these VMs one round swings
 * by 10 %, and a 3-point target needs to know whether a 94 % median could
 * as well be 97 %. The interval is distribution-free (the sign test's): the
 * order statistics x(k) and x(n+1-k), with k from the binomial distribution
 * of how many rounds fall below the true median. No assumption about the
 * noise's shape, which here is lopsided (the machine slows, it never speeds up).
 */

/** The median's interval at the given confidence; null when there are too few values for one. */
export function medianInterval(values: readonly number[], confidence = 0.95): [number, number] | null {
  const n = values.length;
  const tail = (1 - confidence) / 2;
  // P(X <= j) for X ~ Binomial(n, 1/2), built term by term.
  let pmf = 2 ** -n;
  let below = 0;
  let k = 0;
  while (k < n && below + pmf <= tail) {
    below += pmf;
    pmf = (pmf * (n - k)) / (k + 1);
    k++;
  }
  if (k === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return [s[k - 1]!, s[n - k]!];
}

/** The interval as the benches print it, each bound through `format`. */
export function intervalText(values: readonly number[], format: (x: number) => string): string {
  const interval = medianInterval(values);
  return interval ? `95 % interval ${interval.map(format).join(' .. ')}` : 'no 95 % interval under 6 rounds';
}
