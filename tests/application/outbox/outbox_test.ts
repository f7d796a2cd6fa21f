// The outbox publisher over the in-memory store and a bus that records what it is given.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import type { Bus, OutgoingMessage } from "../../../application/ports/bus.ts";
import { sequentialIds, steppingClock } from "../../support/clocks.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import { asRecorded, type EventStore } from "../../../application/ports/event_store.ts";
import { recordStripeWebhook } from "../../../application/inbound/webhook_record.ts";
import { HEADERS, parseMessage, TOPICS } from "../../../application/shared/integration_events.ts";
import { startOutbox } from "../../../application/outbox/outbox.ts";
import { clientDecider, clientStream } from "../../../domain/client.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import { priceTierDecider, priceTierStream } from "../../../domain/price_tier.ts";
import objects from "../../support/fixtures/stripe_webhook_objects.json" with { type: "json" };

const AT = "2026-03-01T12:00:00.000Z";
const ids = sequentialIds("evt");
const options = (correlationId = "corr-1") =>
  ({
    metadata: { correlationId, causationId: "cause-1", cause: { kind: "system", reason: "test" } },
    newEventId: ids,
  }) as const;

const plan = (store: EventStore, command: Parameters<typeof planDecider.decide>[0]) =>
  handleCommand(store, planDecider, planStream(command.data.planId), command, options());
const tier = (store: EventStore, command: Parameters<typeof priceTierDecider.decide>[0]) =>
  handleCommand(
    store,
    priceTierDecider,
    priceTierStream(command.data.priceTierId),
    command,
    options(),
  );

/** A bus that keeps what is published; `failAfter` publishes and then throws (a crash). */
const recordingBus = () => {
  const published: OutgoingMessage[] = [];
  let crashAfter = Infinity;
  const bus: Bus = {
    publish: (messages) => {
      published.push(...messages);
      if (--crashAfter <= 0) return Promise.reject(new Error("crashed after publishing"));
      return Promise.resolve();
    },
    consume: () => Promise.reject(new Error("not here")),
    close: () => Promise.resolve(),
  };
  return { bus, published, crashAfterPublishes: (n: number) => void (crashAfter = n) };
};

/** Runs the outbox until it has published everything in the store, then stops it. */
const drain = async (store: EventStore, bus: Bus, pageSize?: number) => {
  const stop = new AbortController();
  const last = (await store.readAll({ after: 0, limit: 1_000_000 })).at(-1)?.position ?? 0;
  const outbox = startOutbox({
    store,
    bus,
    signal: stop.signal,
    pageSize,
    onCaughtUp: (position) => position >= last && stop.abort(),
  });
  await outbox.done;
};

const decoded = (messages: OutgoingMessage[]) =>
  messages.map((m, i) => ({
    topic: m.topic,
    key: m.key,
    headers: m.headers,
    event: parseMessage({ ...m, partition: 0, offset: String(i), headers: m.headers ?? {} }),
  }));

Deno.test("the outbox publishes each Nudges event as its integration event, keyed by its aggregate", async () => {
  const store = memoryEventStore(steppingClock(AT));
  const { bus, published } = recordingBus();
  await plan(store, {
    type: "CreatePlan",
    data: { planId: "p-1", at: AT, name: "Pro", description: "All of it", iconUrl: null },
  });
  await plan(store, { type: "UpdatePlan", data: { planId: "p-1", at: AT, name: "Pro+" } });
  await tier(store, {
    type: "CreatePriceTier",
    data: {
      priceTierId: "t-1",
      planId: "p-1",
      at: AT,
      name: "Monthly",
      unitAmount: 1500,
      currency: "eur",
      interval: "month",
      intervalCount: 1,
    },
  });
  await plan(store, {
    type: "LinkStripeProduct",
    data: { planId: "p-1", at: AT, stripeProductId: "prod_1" },
  });
  await tier(store, { type: "DeletePriceTier", data: { priceTierId: "t-1", at: AT } });
  await plan(store, { type: "DeletePlan", data: { planId: "p-1", at: AT } });
  await handleCommand(store, clientDecider, clientStream("c-1"), {
    type: "CreateClient",
    data: { clientId: "c-1", at: AT, name: "Ada", email: "ada@example.com" },
  }, options("corr-client"));

  await drain(store, bus);

  const messages = decoded(published);
  assert.deepEqual(messages.map((m) => [m.topic, m.key, m.event.type]), [
    [TOPICS.plans, "p-1", "PlanCreatedEvent"],
    [TOPICS.plans, "p-1", "PlanUpdatedEvent"],
    [TOPICS.priceTiers, "t-1", "PriceTierCreatedEvent"],
    [TOPICS.plans, "p-1", "StripeProductCreatedEvent"],
    [TOPICS.priceTiers, "t-1", "PriceTierDeletedEvent"],
    [TOPICS.plans, "p-1", "PlanDeletedEvent"],
    [TOPICS.clients, "c-1", "ClientCreatedEvent"],
  ]);
  const recorded = await store.readAll();
  messages.forEach(({ event, headers }, i) => {
    assert.equal(event.eventId, recorded[i]!.metadata.eventId, "eventId is the domain event's");
    assert.equal(event.occurredAt, recorded[i]!.recordedAt);
    assert.equal(headers![HEADERS.type], event.type);
    assert.equal(headers![HEADERS.eventId], event.eventId);
    assert.equal(headers![HEADERS.causationId], "cause-1");
  });
  assert.equal(messages[6]!.headers![HEADERS.correlationId], "corr-client");
  assert.deepEqual(messages[0]!.event.data, {
    planId: "p-1",
    name: "Pro",
    description: "All of it",
    iconUrl: null,
    isActive: true,
  });
  assert.deepEqual(messages[1]!.event.data, { planId: "p-1", changes: { name: "Pro+" } });
  assert.deepEqual(messages[2]!.event.data, {
    priceTierId: "t-1",
    planId: "p-1",
    name: "Monthly",
    unitAmount: 1500,
    currency: "eur",
    interval: "month",
    intervalCount: 1,
  });
  assert.deepEqual(messages[3]!.event.data, { planId: "p-1", stripeProductId: "prod_1" });
  assert.deepEqual(messages[4]!.event.data, { priceTierId: "t-1", planId: "p-1" });
  assert.deepEqual(messages[6]!.event.data, {
    clientId: "c-1",
    name: "Ada",
    email: "ada@example.com",
  });
});

Deno.test("the outbox puts a recorded Stripe webhook on stripe.events, keyed by the Stripe object", async () => {
  const store = memoryEventStore(steppingClock(AT));
  const { bus, published } = recordingBus();
  const event = {
    ...objects.event,
    id: "evt_1",
    type: "product.updated",
    data: { object: { ...objects.product, id: "prod_9" } },
  };
  assert.equal(await recordStripeWebhook(store, event), "recorded");

  await drain(store, bus);

  const [message] = decoded(published);
  assert.equal(message!.topic, TOPICS.stripeEvents);
  assert.equal(message!.key, "prod_9");
  assert.equal(message!.event.type, "StripeWebhookReceivedEvent");
  assert.deepEqual(message!.event.data, {
    stripeEventId: "evt_1",
    stripeEventType: "product.updated",
    created: objects.event.created,
    objectId: "prod_9",
    event,
  });
});

Deno.test("the outbox does not send back what came from Stripe", async () => {
  const store = memoryEventStore(steppingClock(AT));
  const { bus, published } = recordingBus();
  const stripe = { stripeEventId: "evt_1", stripeEventCreated: Date.parse(AT) / 1000 };
  await plan(store, {
    type: "ImportStripeProduct",
    data: {
      planId: "p-1",
      at: AT,
      ...stripe,
      stripeProductId: "prod_1",
      name: "Imported",
      description: null,
      iconUrl: null,
      isActive: true,
    },
  });
  await plan(store, {
    type: "ApplyStripeProductChange",
    data: { planId: "p-1", at: AT, ...stripe, name: "Renamed in Stripe" },
  });
  await plan(store, { type: "UpdatePlan", data: { planId: "p-1", at: AT, name: "Ours" } });

  await drain(store, bus);

  assert.deepEqual(decoded(published).map((m) => m.event.type), ["PlanUpdatedEvent"]);
});

Deno.test("a crash between publish and checkpoint publishes again and skips nothing", async () => {
  const store = memoryEventStore(steppingClock(AT));
  for (let n = 1; n <= 10; n++) {
    await plan(store, {
      type: "CreatePlan",
      data: { planId: `p-${n}`, at: AT, name: `Plan ${n}`, description: null, iconUrl: null },
    });
  }
  const crashing = recordingBus();
  crashing.crashAfterPublishes(2);
  const stop = new AbortController();
  await assert.rejects(
    startOutbox({ store, bus: crashing.bus, signal: stop.signal, pageSize: 3 }).done,
    /crashed after publishing/,
  );
  const before = decoded(crashing.published).map((m) => m.key);
  assert.deepEqual(before, ["p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]);

  const restarted = recordingBus();
  await drain(store, restarted.bus, 3);
  const after = decoded(restarted.published).map((m) => m.key);
  assert.deepEqual(after, ["p-4", "p-5", "p-6", "p-7", "p-8", "p-9", "p-10"]);
});

Deno.test("the outbox stops with a clear error at an event it cannot publish", async () => {
  const store = memoryEventStore(steppingClock(AT));
  const { bus, published } = recordingBus();
  await store.append("plan-p-1", [{
    type: "PlanCreated",
    data: { planId: "p-1", at: AT, description: null, iconUrl: null },
    metadata: {
      eventId: "e-1",
      correlationId: "c",
      causationId: "c",
      cause: options().metadata.cause,
    },
  }], "noStream");
  await assert.rejects(
    startOutbox({ store, bus, signal: new AbortController().signal }).done,
    /PlanCreated at position 1 \(plan-p-1\) cannot become PlanCreatedEvent: data\.name/,
  );
  assert.deepEqual(published, []);
  assert.equal(await store.readCheckpoint("outbox"), 0, "the checkpoint stays before it");
});

/**
 * A store whose positions are log offsets, as EventStoreDB's are: far apart, and a read
 * may only start after a position an event really has.
 */
const offsetPositions = (inner: EventStore): EventStore => {
  const out = (position: number) => position * 1000 + 7;
  const back = (position: number) => (position - 7) / 1000;
  const shifted = <E extends { position: number }>(e: E): E => ({
    ...e,
    position: out(e.position),
  });
  return {
    ...inner,
    append: async (...args) => {
      const result = await inner.append(...args);
      return { ...result, position: out(result.position) };
    },
    readStream: async (streamId) => asRecorded((await inner.readStream(streamId)).map(shifted)),
    readAll: async ({ after = 0, limit } = {}) => {
      if (after !== 0 && !Number.isInteger(back(after))) {
        throw new Error(`no event at position ${after}: cannot read from the middle of a record`);
      }
      return asRecorded(
        (await inner.readAll({ after: after === 0 ? 0 : back(after), limit })).map(shifted),
      );
    },
    readCheckpoint: async (id) => {
      const position = await inner.readCheckpoint(id);
      return position === 0 ? 0 : out(position);
    },
    storeCheckpoint: (id, position) => inner.storeCheckpoint(id, back(position)),
    subscribeAll: (options) =>
      inner.subscribeAll({
        ...options,
        handler: (event) => options.handler(shifted(event)),
        onCaughtUp: (position) => options.onCaughtUp?.(out(position)),
      }),
  };
};

Deno.test("startOutbox() reads after real positions only, as on EventStoreDB", async () => {
  const store = offsetPositions(memoryEventStore(steppingClock(AT)));
  for (const planId of ["p-1", "p-2", "p-3"]) {
    await plan(store, {
      type: "CreatePlan",
      data: { planId, at: AT, name: `Plan ${planId}`, description: null, iconUrl: null },
    });
  }
  const { bus, published } = recordingBus();
  await drain(store, bus, 2);
  assert.deepEqual(published.map((m) => m.key), ["p-1", "p-2", "p-3"]);
});
