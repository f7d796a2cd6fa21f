import assert from "node:assert/strict";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import {
  type IncomingMessage,
  type OutgoingMessage,
  PermanentFailure,
} from "../../../application/ports/bus.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { startInbound } from "../../../application/inbound/consumer.ts";
import { PRICE_PARKED, productPendingStream } from "../../../application/inbound/parked_prices.ts";
import type { Metrics } from "../../../application/ports/metrics.ts";
import { priceTierDecider, priceTierStream } from "../../../domain/price_tier.ts";
import { domainEvents, inboundPipeline, stateOf } from "../../support/inbound_pipeline.ts";
import { NOW, NOW_SECONDS, price, product, stripeEvent } from "../../support/webhook_fixtures.ts";

const T = NOW_SECONDS - 600;

const importedTier = async (store: EventStore, priceId: string) =>
  await stateOf(store, priceTierDecider, priceTierStream(nameBasedId("priceTier", priceId)));

const priceCreated = (fields = {}) =>
  stripeEvent("price.created", price({ id: "price_D1", product: "prod_D1", ...fields }), {
    created: T,
  });
const productCreated = () =>
  stripeEvent("product.created", product({ id: "prod_D1" }), { created: T });

/** Counts what the bus adapter reports: messages handled and dead-lettered. */
const countingMetrics = () => {
  const counts = new Map<string, number>();
  const metrics: Metrics = {
    counter: (name) => ({
      inc: (_, by = 1) => void counts.set(name, (counts.get(name) ?? 0) + by),
    }),
    gauge: () => ({ set: () => {} }),
    histogram: () => ({ observe: () => {} }),
  };
  return { metrics, count: (name: string) => counts.get(name) ?? 0 };
};

const asPublished = ({ topic, key, value, headers }: IncomingMessage): OutgoingMessage => ({
  topic,
  key,
  value,
  headers,
});

Deno.test("a Dashboard price published before its product becomes a tier on the real bus, nothing dead-lettered", async () => {
  const { store, post } = inboundPipeline();
  const { metrics, count } = countingMetrics();
  const bus = sqliteBus({ path: ":memory:", pollMs: 10, metrics });
  // One topic, one partition: the product's event is behind its price's.
  await bus.publish([asPublished(await post(priceCreated()))]);
  await bus.publish([asPublished(await post(productCreated()))]);
  const consumer = await startInbound(bus, { store, clock: () => NOW });
  try {
    const deadline = Date.now() + 15_000;
    while (count("bus_messages_consumed_total") < 2) {
      if (Date.now() > deadline) {
        throw new Error("timed out: the price still blocks its product's event");
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(count("bus_messages_dead_lettered_total"), 0);
    const tier = await importedTier(store, "price_D1");
    assert.equal(tier?.stripePriceId, "price_D1");
    assert.equal(tier?.planId, nameBasedId("plan", "prod_D1"));
  } finally {
    await consumer.stop();
    await bus.close();
  }
});

Deno.test("price.updated and price.deleted before their product wait for it, then apply", async () => {
  const { store, deliver } = inboundPipeline();
  const object = { id: "price_D1", product: "prod_D1" };
  await deliver(stripeEvent("price.updated", price({ ...object, nickname: "Launch" }), {
    created: T + 5,
  }));
  await deliver(
    stripeEvent("price.deleted", price({ ...object, nickname: "Launch", active: false }), {
      created: T + 10,
    }),
  );
  assert.deepEqual(await domainEvents(store), [], "nothing applies before the product");

  await deliver(productCreated());
  await deliver(priceCreated());
  const tier = await importedTier(store, "price_D1");
  assert.deepEqual([tier?.name, tier?.isActive, tier?.deleted], ["Launch", false, true]);
});

Deno.test("a parked price is applied once, however many product events follow", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(priceCreated({ nickname: "First" }));
  await deliver(productCreated());
  await deliver(stripeEvent("price.updated", price({ id: "price_D1", nickname: "Second" }), {
    created: T,
  }));
  // A product event of the same second would apply the parked price.created again, and
  // undo the rename, if it were not marked applied.
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "Renamed" }), {
    created: T + 1,
  }));
  assert.equal((await importedTier(store, "price_D1"))?.name, "Second");
  const types = (await domainEvents(store)).map((e) => e.type);
  assert.deepEqual(types.filter((t) => t.startsWith("PriceTier")), [
    "PriceTierImportedFromStripe",
    "PriceTierChangedInStripe",
  ]);
});

/** `store`, with `hook` run once, before or after the first append to a `prefix` stream. */
const hooked = (
  store: EventStore,
  prefix: string,
  when: "before" | "after",
  hook: () => Promise<void>,
): EventStore => {
  let fired = false;
  return {
    ...store,
    append: async (streamId, events, expected) => {
      const now = !fired && streamId.startsWith(prefix);
      if (now) fired = true;
      if (now && when === "before") await hook();
      const result = await store.append(streamId, events, expected);
      if (now && when === "after") await hook();
      return result;
    },
  };
};

/** The price's and the product's messages, recorded in `store`. */
const messages = async (store: EventStore) => {
  const { post, consume } = inboundPipeline({ store });
  return { price: await post(priceCreated()), product: await post(productCreated()), consume };
};

Deno.test("a product applied while its price is being parked still gets the price", async () => {
  // The price handler found no owner; the product event runs to its end before the price
  // is parked, so it sees nothing parked: the price handler must look again.
  const store = memoryEventStore();
  const { price, product, consume } = await messages(store);
  const racing = hooked(store, "stripeProductPending-", "before", () => consume(product));
  await inboundPipeline({ store: racing }).consume(price);
  assert.equal((await importedTier(store, "price_D1"))?.stripePriceId, "price_D1");
});

Deno.test("a price parked just before its product is applied is imported once", async () => {
  // Both handlers apply the parked price: the product's after it recorded the owner,
  // the price's when it looks again.
  const store = memoryEventStore();
  const { price, product, consume } = await messages(store);
  const racing = hooked(store, "stripeProductPending-", "after", () => consume(product));
  await inboundPipeline({ store: racing }).consume(price);
  const imports = (await domainEvents(store)).filter((e) =>
    e.type === "PriceTierImportedFromStripe"
  );
  assert.equal(imports.length, 1);
  assert.equal((await importedTier(store, "price_D1"))?.stripePriceId, "price_D1");
});

Deno.test("a price redelivered after a crash is parked once", async () => {
  const store = memoryEventStore();
  const { price } = await messages(store);
  // The consumer dies after parking, before it marks the Stripe event applied.
  const crashing = hooked(
    store,
    "stripeEvent-",
    "before",
    () => Promise.reject(new Error("killed")),
  );
  await assert.rejects(inboundPipeline({ store: crashing }).consume(price), /killed/);
  await inboundPipeline({ store: crashing }).consume(price);
  const parked = (await store.readStream(productPendingStream("prod_D1")))
    .filter((e) => e.type === PRICE_PARKED);
  assert.equal(parked.length, 1);
  assert.deepEqual(await domainEvents(store), []);
});

Deno.test("a Dashboard price that can never be imported is dead-lettered, not parked", async () => {
  const { store, deliver } = inboundPipeline();
  const tiered = priceCreated({ unit_amount: null, billing_scheme: "tiered" });
  await assert.rejects(deliver(tiered), PermanentFailure);
  assert.deepEqual(await store.readStream(productPendingStream("prod_D1")), []);
});
