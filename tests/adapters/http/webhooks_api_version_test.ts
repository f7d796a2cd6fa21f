import assert from "node:assert/strict";
import { webhookHandler } from "../../../adapters/http/webhooks.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";
import { prometheusRegistry } from "../../../adapters/observability/prometheus.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import {
  API_KEY,
  NOW,
  product,
  SECRET,
  signedRequest,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";
import { sample } from "../../apps/app_process.ts";

const PINNED = "2026-10-28.endive";

Deno.test("webhookHandler() records an event of another API version, counts it by version and logs each version once", async () => {
  const store = memoryEventStore();
  const metrics = prometheusRegistry();
  const lines: string[] = [];
  const handle = webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock: () => NOW,
    logger: jsonLogger({ write: (line) => lines.push(line) }),
    metrics,
    apiVersion: PINNED,
  });
  const inVersion = (id: string, version: string) => ({
    ...stripeEvent("product.updated", product({ id: `prod_${id}` })),
    id: `evt_${id}`,
    api_version: version,
  });
  for (
    const event of [
      inVersion("a", "2024-06-20"),
      inVersion("b", "2024-06-20"),
      inVersion("c", PINNED),
      inVersion("d", "2025-03-31.basil"),
    ]
  ) {
    assert.equal((await handle(await signedRequest(event))).status, 200);
    assert.equal((await store.readStream(stripeEventStream(event.id))).length, 1);
  }
  const text = metrics.render();
  assert.equal(sample(text, 'webhooks_other_api_version_total{version="2024-06-20"}'), 2);
  assert.equal(sample(text, 'webhooks_other_api_version_total{version="2025-03-31.basil"}'), 1);
  assert.equal(sample(text, `webhooks_other_api_version_total{version="${PINNED}"}`), undefined);
  const warned = lines.map((line) => JSON.parse(line))
    .filter((line) => line.message.startsWith("Stripe event in another API version"));
  assert.deepEqual(warned.map((line) => line.version), ["2024-06-20", "2025-03-31.basil"]);
});
