/**
 * The order of a round's variants: it turns round by round, so that a drift
 * of the machine's speed, or what a run leaves behind for the next, weighs on
 * each variant alike.
 */
export function rotated<T>(variants: readonly T[], round: number): T[] {
  return variants.map((_, k) => variants[(round + k) % variants.length]!);
}
