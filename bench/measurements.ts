/**
 * One value per metric per repetition, gathered as sections run; a metric's
 * reported value is the median over repetitions, its spread kept beside it.
 */
import type { Pair } from './sides.js';
import { median, spread, type Spread } from './stats.js';

export interface Measurement {
  pair: Pair;
  metric: string;
  value: number;
  unit: string;
}

/** The row of bench/results/latest.json: exactly these four keys. */
export type Result = Measurement;

export interface ResultSpread {
  pair: Pair;
  metric: string;
  unit: string;
  spread: Spread;
}

export class Measurements {
  private readonly byKey = new Map<string, { pair: Pair; metric: string; unit: string; values: number[] }>();

  /** Adds all of one job's measurements, or none of them when any is impossible. */
  addAll(list: Measurement[]): void {
    for (const m of list) {
      if (!Number.isFinite(m.value) || m.value <= 0) throw new Error(`${m.pair} ${m.metric}: measured ${m.value} ${m.unit}, which cannot be right`);
    }
    for (const m of list) this.add(m);
  }

  private add(m: Measurement): void {
    const key = `${m.pair}\t${m.metric}`;
    const entry = this.byKey.get(key) ?? { pair: m.pair, metric: m.metric, unit: m.unit, values: [] };
    if (entry.unit !== m.unit) throw new Error(`${m.pair} ${m.metric}: measured in ${m.unit} and in ${entry.unit}`);
    entry.values.push(m.value);
    this.byKey.set(key, entry);
  }

  results(): Result[] {
    return [...this.byKey.values()].map(({ pair, metric, unit, values }) => ({ pair, metric, value: round(median(values)), unit }));
  }

  spreads(): ResultSpread[] {
    return [...this.byKey.values()].map(({ pair, metric, unit, values }) => ({ pair, metric, unit, spread: roundSpread(spread(values)) }));
  }
}

/** Four significant digits: more would be noise. */
export function round(value: number): number {
  return Number(value.toPrecision(4));
}

function roundSpread(s: Spread): Spread {
  return { n: s.n, min: round(s.min), q1: round(s.q1), q3: round(s.q3), max: round(s.max), values: s.values.map(round) };
}
