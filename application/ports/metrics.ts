/**
 * The Metrics port: counters, gauges and histograms with labels, named the Prometheus way.
 * @module
 */

export type Labels = Record<string, string>;

export type Counter = { inc(labels?: Labels, by?: number): void };
export type Gauge = { set(value: number, labels?: Labels): void };
export type Histogram = { observe(value: number, labels?: Labels): void };

export type Metrics = {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string): Gauge;
  /** Buckets in the unit of the name (seconds for *_seconds). */
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram;
};

export const noMetrics: Metrics = {
  counter: () => ({ inc: () => {} }),
  gauge: () => ({ set: () => {} }),
  histogram: () => ({ observe: () => {} }),
};
