/**
 * Small builders of the {@linkcode MetricFamily} values the drift metrics
 * write: a gauge, a one-sample counter, and the samples of a value that may
 * be absent.
 *
 * @module
 */

import type { MetricFamily, MetricSample } from "./prometheus_text.ts";

export function gauge(name: string, help: string, samples: MetricSample[] = []): MetricFamily {
  return { name, help, type: "gauge", samples };
}

export function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "counter", samples: [{ value }] };
}

export function single(value: number | undefined): MetricSample[] {
  return value === undefined ? [] : [{ value }];
}
