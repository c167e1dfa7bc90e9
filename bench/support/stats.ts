/** Latency statistics of one run, in milliseconds rounded to 0.1 ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The middle value (the mean of the two middle ones for an even count), for results of repeated rounds. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * `measure(result) / measure(reference)` of each round, each pair taken from the same round: on a host whose speed
 * drifts between rounds, the ratios of neighbours are steadier than the ratio of medians.
 */
export function pairedRatios<T>(results: readonly T[], reference: readonly T[], measure: (result: T) => number): number[] {
  return results.slice(0, reference.length).map((result, round) => measure(result) / measure(reference[round]));
}

export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round1(percentile(sorted, 50)),
    p99Ms: round1(percentile(sorted, 99)),
    maxMs: round1(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A plain-text table with right-aligned numbers, for the console. */
export function textTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cells = rows.map((row) => columns.map((column) => formatCell(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
  const isNumeric = columns.map((column) => rows.some((row) => typeof row[column] === 'number'));
  const pad = (text: string, i: number) => (isNumeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const lines = [columns.map(pad).join('  '), widths.map((width) => '-'.repeat(width)).join('  ')];
  for (const line of cells) lines.push(line.map(pad).join('  '));
  return lines.join('\n');
}

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

/** High-resolution wall-clock milliseconds, comparable across processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
