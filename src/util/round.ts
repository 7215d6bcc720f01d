/** Figures in results are rounded to a fixed number of decimals, not printed with float noise. */
export function round(value: number, digits = 3): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
