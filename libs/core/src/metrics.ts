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

// Platform counters. Each domain calls these where the event happens; /metrics exposes them.

const deliveriesTotal = counter({
  name: 'filodiretto_deliveries_total',
  help: 'Delivery status changes, by new status and provider error code ("" when none)',
  labelNames: ['status', 'error_code'] as const,
});

const webhookEventsTotal = counter({
  name: 'filodiretto_webhook_events_total',
  help: 'WhatsApp webhook events received, by kind (message, status, other)',
  labelNames: ['kind'] as const,
});

// /metrics is public: no label names a comune or its channel (per-channel rates are in the
// operator's GET /v1/admin/health).
const dispatchTotal = counter({
  name: 'filodiretto_dispatch_total',
  help: 'Messages handed to the provider, by provider (whatsapp_cloud, sandbox)',
  labelNames: ['provider'] as const,
});

/** A delivery reached a status (sent, delivered, read, failed, skipped); `count` for a batch. */
export function recordDeliveryStatus(status: string, errorCode?: number | string | null, count = 1): void {
  if (count > 0) deliveriesTotal.inc({ status, error_code: errorCode === null || errorCode === undefined ? '' : String(errorCode) }, count);
}

/** A webhook event arrived (after the signature check). */
export function recordWebhookEvent(kind: 'message' | 'status' | 'other', count = 1): void {
  if (count > 0) webhookEventsTotal.inc({ kind }, count);
}

/** A message was handed to the provider. */
export function recordDispatch(provider: string, count = 1): void {
  if (count > 0) dispatchTotal.inc({ provider }, count);
}
