import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry. Metrics are created once per name (several Nest apps may
 * live in one process, as in the tests), so modules ask for them through these helpers.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

type Config<T extends string> = { name: string; help: string; labelNames?: readonly T[] };

export function counter<T extends string>(config: Config<T>): Counter<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Counter<T>) ?? new Counter({ ...config, registers: [metricsRegistry] });
}

export function gauge<T extends string>(config: Config<T>): Gauge<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Gauge<T>) ?? new Gauge({ ...config, registers: [metricsRegistry] });
}

export function histogram<T extends string>(config: Config<T> & { buckets?: number[] }): Histogram<T> {
  return (metricsRegistry.getSingleMetric(config.name) as Histogram<T>) ?? new Histogram({ ...config, registers: [metricsRegistry] });
}
