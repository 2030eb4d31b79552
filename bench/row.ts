/** The one row shape every benchmark returns. @module */

/** One measured figure, with the peer it is compared to where there is one. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  peer?: string;
  peerValue?: number;
  /** value / peerValue (or as the row's name says). */
  ratio?: number;
  /** Spread of the repeats, e.g. `±4%` or `min..max`. */
  spread?: string;
}

/** Median of numbers (the middle of a sorted copy). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** `min..max` of repeats, formatted with `digits`. */
export function spread(xs: number[], digits = 2): string {
  return `${Math.min(...xs).toFixed(digits)}..${Math.max(...xs).toFixed(digits)}`;
}
