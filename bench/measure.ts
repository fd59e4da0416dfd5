// Timing and memory of one phase. Peak RSS is sampled during the phase (the process-wide maxRSS
// cannot be reset between phases), every 20 ms, and includes DuckDB's native memory.

export interface Measurement<T> {
  result: T;
  seconds: number;
  peakRssMb: number;
}

export async function measure<T>(work: () => Promise<T>): Promise<Measurement<T>> {
  (globalThis as { gc?: () => void }).gc?.();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const started = process.hrtime.bigint();
  try {
    const result = await work();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, seconds, peakRssMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
