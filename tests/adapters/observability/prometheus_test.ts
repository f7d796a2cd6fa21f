import assert from "node:assert/strict";
import { prometheusRegistry } from "../../../adapters/observability/prometheus.ts";

Deno.test("prometheusRegistry() renders counters, gauges and histograms in the text format", () => {
  const registry = prometheusRegistry();
  const webhooks = registry.counter("webhooks_total", "Webhooks by outcome.");
  webhooks.inc({ outcome: "accepted" });
  webhooks.inc({ outcome: "accepted" });
  webhooks.inc({ outcome: 'bad "signature"' });
  registry.gauge("breaker_open", "1 while open.").set(1);
  const latency = registry.histogram("stripe_seconds", "Latency.", [0.1, 1]);
  latency.observe(0.05, { op: "create" });
  latency.observe(0.5, { op: "create" });

  assert.equal(
    registry.render(),
    [
      "# HELP webhooks_total Webhooks by outcome.",
      "# TYPE webhooks_total counter",
      'webhooks_total{outcome="accepted"} 2',
      'webhooks_total{outcome="bad \\"signature\\""} 1',
      "# HELP breaker_open 1 while open.",
      "# TYPE breaker_open gauge",
      "breaker_open 1",
      "# HELP stripe_seconds Latency.",
      "# TYPE stripe_seconds histogram",
      'stripe_seconds_bucket{le="0.1",op="create"} 1',
      'stripe_seconds_bucket{le="1",op="create"} 2',
      'stripe_seconds_bucket{le="+Inf",op="create"} 2',
      'stripe_seconds_sum{op="create"} 0.55',
      'stripe_seconds_count{op="create"} 2',
      "",
    ].join("\n"),
  );
});

Deno.test("prometheusRegistry() gives the same series to a second declaration", () => {
  const registry = prometheusRegistry();
  registry.counter("messages_total", "Messages.").inc();
  registry.counter("messages_total", "Messages.").inc();
  assert.match(registry.render(), /^messages_total 2$/m);
});
