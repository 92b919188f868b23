/** Order statistics, by linear interpolation between closest ranks. */

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface Spread {
  /** How many repetitions the value is the median of. */
  n: number;
  min: number;
  q1: number;
  q3: number;
  max: number;
  /** Every repetition's value, in run order. */
  values: number[];
}

export function spread(values: readonly number[]): Spread {
  return { n: values.length, min: Math.min(...values), q1: quantile(values, 0.25), q3: quantile(values, 0.75), max: Math.max(...values), values: [...values] };
}
