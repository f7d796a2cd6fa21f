// A Stripe event the inbound consumer gives up on is recorded in its stream with the
// reason, and `deno task replay --stream stripeEvent-<id>` shows it; sent back with
// `deno task dead-letters retry` and applied, it records that too. Over the SQLite store
// and bus under a DATA_DIR, as the apps keep them.
import assert from "node:assert/strict";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { invalid } from "../../../domain/decider.ts";
import { retryDeadLetters } from "../../../application/dead_letters/dead_letters.ts";
import { recordDeadLetter } from "../../../application/inbound/dead_letter_record.ts";
import { INBOUND_GROUP, startInbound } from "../../../application/inbound/consumer.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import { runTask } from "../../apps/dev/dev_process.ts";
import { inboundPipeline } from "../../support/inbound_pipeline.ts";
import { NOW, product, stripeEvent } from "../../support/webhook_fixtures.ts";

/** `store`, refusing appends to plan streams while `broken.now` (as a domain rule would). */
const breakable = (store: EventStore) => {
  const broken = { now: true };
  const wrapped: EventStore = {
    ...store,
    append: (streamId, events, expected) =>
      broken.now && streamId.startsWith("plan-")
        ? Promise.reject(invalid("PlanStoreBroken", "plans cannot be written now"))
        : store.append(streamId, events, expected),
  };
  return { store: wrapped, broken };
};

const waitFor = async (what: string, done: () => Promise<boolean>) => {
  const deadline = Date.now() + 30_000;
  while (!await done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

Deno.test("a dead-lettered Stripe event is recorded with its reason; sent back and applied, it records that too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-inbound-dead-" });
  const real = sqliteEventStore(`${dir}/events.sqlite`);
  const { store, broken } = breakable(real);
  const bus = sqliteBus({ path: `${dir}/bus.sqlite`, pollMs: 20 });
  const { post } = inboundPipeline({ store });
  const event = stripeEvent("product.created", product({ id: "prod_DL1" }), { id: "evt_DL1" });
  const stream = stripeEventStream("evt_DL1");
  const types = async () => (await real.readStream(stream)).map((e) => e.type);
  const consumer = await startInbound(bus, { store, clock: () => NOW });
  try {
    const { topic, key, value, headers } = await post(event);
    await bus.publish([{ topic, key, value, headers }]);
    await waitFor(
      "the dead letter",
      async () => (await types()).includes("StripeWebhookDeadLettered"),
    );
    const [, dead] = await real.readStream(stream);
    assert.equal(dead!.type, "StripeWebhookDeadLettered");
    assert.match(
      (dead!.data as { reason: string }).reason,
      /PlanStoreBroken: plans cannot be written now/,
    );
    assert.deepEqual(
      { ...(dead!.data as Record<string, unknown>), reason: undefined },
      {
        stripeEventId: "evt_DL1",
        reason: undefined,
        attempts: 1,
        details: { code: "PlanStoreBroken" },
        group: INBOUND_GROUP,
        topic,
        partition: 0,
        offset: "0",
        deadLetteredAt: NOW,
      },
    );

    const replay = await runTask("replay", ["--stream", stream, "--json"], { DATA_DIR: dir });
    assert.equal(replay.code, 0, replay.stderr);
    const shown = JSON.parse(replay.stdout).events;
    assert.deepEqual(shown.map((e: { type: string }) => e.type), [
      "StripeWebhookReceived",
      "StripeWebhookDeadLettered",
    ]);
    assert.match(shown[1].data.reason, /PlanStoreBroken/);

    broken.now = false;
    const { sent } = await retryDeadLetters(bus);
    assert.equal(sent.length, 1);
    await waitFor(
      "the event applied",
      async () => (await types()).includes("StripeWebhookApplied"),
    );
    const applied = (await real.readStream(stream)).at(-1)!;
    assert.equal((applied.data as { retriedFrom?: string }).retriedFrom, sent[0]!.id);
    assert.deepEqual(await types(), [
      "StripeWebhookReceived",
      "StripeWebhookDeadLettered",
      "StripeWebhookApplied",
    ]);
  } finally {
    await consumer.stop();
    await bus.close();
    await real.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recordDeadLetter() records once per dead-lettering, and never starts a stream the endpoint has not", async () => {
  const { store, post } = inboundPipeline();
  const record = recordDeadLetter({ store, clock: () => NOW }, "g");
  const message = await post(
    stripeEvent("product.created", product({ id: "prod_DL2" }), { id: "evt_DL2" }),
  );
  const reason = { error: "Error: no", attempts: 3 };
  await record(message, reason);
  await record(message, reason); // the same message dead-lettered again after a crash
  assert.deepEqual((await store.readStream(stripeEventStream("evt_DL2"))).map((e) => e.type), [
    "StripeWebhookReceived",
    "StripeWebhookDeadLettered",
  ]);
  await record({ ...message, offset: "7" }, reason); // dead-lettered again after a retry
  assert.equal((await store.readStream(stripeEventStream("evt_DL2"))).length, 3);

  const unknown = {
    ...message,
    value: JSON.stringify({ data: { stripeEventId: "evt_never_received" } }),
  };
  await record(unknown, reason);
  await record({ ...message, value: "{not json" }, reason);
  assert.deepEqual(await store.readStream(stripeEventStream("evt_never_received")), []);
});
