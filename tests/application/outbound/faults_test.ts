// Outbound sync when Stripe misbehaves, against the fault-injecting stand-in: retries
// with one idempotency key, the breaker pausing consumption, refusals, and crashes.
import assert from "node:assert/strict";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { resilientGateway } from "../../../adapters/stripe/resilience.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { planStream } from "../../../domain/plan.ts";
import type { Bus, IncomingMessage } from "../../../application/ports/bus.ts";
import type { CircuitState } from "../../../application/ports/stripe_gateway.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { outboundHandler } from "../../../application/outbound/handler.ts";
import { plans, priceTiers } from "../../../application/shared/aggregates.ts";
import { OUTBOUND_TOPICS, startOutbound } from "../../../application/outbound/consumer.ts";
import { catalog, NOW } from "../../support/stripe_outbound_fixtures.ts";
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";
import { CRASH_EXIT_CODE } from "../../support/stripe_outbound_crash.ts";

const planOf = async (store: EventStore, id: string) => (await plans.read(store, id)).state;
const tierOf = async (store: EventStore, id: string) => (await priceTiers.read(store, id)).state;
const keyOf = (message: IncomingMessage) => `nudges-${JSON.parse(message.value).eventId}`;
const publish = (bus: Bus, messages: IncomingMessage[]) =>
  bus.publish(messages.map(({ topic, key, value, headers }) => ({ topic, key, value, headers })));

/** Polls until `condition` holds (a safety net of 30 s, not a timing assertion). */
const eventually = async (condition: () => Promise<boolean>, what: string) => {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

Deno.test("two transient failures then success: one product, one key on all three attempts", async () => {
  const stripe = startStripeStandIn();
  const resilient = resilientGateway(
    stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }),
    { initialDelayMs: 5 },
  );
  try {
    const store = memoryEventStore();
    const handle = outboundHandler({ store, gateway: resilient.gateway, clock: () => NOW });
    const message = await catalog(store).createPlan("plan-1");
    // The first attempt is carried out but its answer is lost; the second fails outright.
    stripe.failNext(1, { drop: true, executed: true });
    stripe.failNext(1, { status: 500 });
    await handle(message);

    assert.deepEqual(stripe.requests.map((r) => r.idempotencyKey), Array(3).fill(keyOf(message)));
    assert.equal(stripe.requests[2]?.replayed, true);
    assert.equal(stripe.products.size, 1);
    assert.equal((await planOf(store, "plan-1"))?.stripeProductId, [...stripe.products.keys()][0]);
  } finally {
    resilient.dispose();
    await stripe.close();
  }
});

type BusUnderTest = {
  bus: Bus;
  /** The topic a message of `topic` goes to on this bus. */
  topicOf: (topic: string) => string;
  groupId?: string;
  consumers: number;
};

const sqliteUnderTest = (): Promise<BusUnderTest> =>
  Promise.resolve({
    bus: sqliteBus({ path: ":memory:", pollMs: 20 }),
    topicOf: (topic) => topic,
    consumers: 1,
  });

const BROKERS = Deno.env.get("KAFKA_BROKERS");
if (!BROKERS) console.log("skipping the outbound breaker test on Kafka: KAFKA_BROKERS is unset");

/** Topics of this run only, so that nothing left on the broker gets in the way. */
const kafkaUnderTest = (): Promise<BusUnderTest> => {
  const run = `outbound-test-${crypto.randomUUID().slice(0, 8)}`;
  return Promise.resolve({
    bus: kafkaBus({ brokers: BROKERS!.split(","), sessionTimeoutMs: 6000 }),
    topicOf: (topic) => `${run}.${topic}`,
    groupId: run,
    consumers: 2,
  });
};

const breakerScenario = (open: () => Promise<BusUnderTest>) => async () => {
  const stripe = startStripeStandIn();
  const resilient = resilientGateway(
    stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }),
    { initialDelayMs: 5, halfOpenAfterMs: 300 },
  );
  const { bus, topicOf, groupId, consumers } = await open();
  const store = memoryEventStore();
  const nudges = catalog(store);
  const states: CircuitState[] = [];
  stripe.onRequest = () => states.push(resilient.circuit.state());
  let breaks = 0;
  resilient.circuit.onBreak(() => breaks++);
  const runner = await startOutbound({
    bus,
    deps: { store, gateway: resilient.gateway, clock: () => NOW },
    circuit: resilient.circuit,
    groupId,
    topics: OUTBOUND_TOPICS.map(topicOf),
    consumers,
    initialBackoffMs: 10,
    maxBackoffMs: 50,
    // The first plan's message fails twice before the breaker opens (3 + 2 calls): an
    // attempt more would dead-letter it, were the open breaker not waited out.
    maxAttempts: 3,
  });
  try {
    stripe.failNext(5, { status: 503 });
    const queued = [];
    for (let i = 0; i < 3; i++) {
      queued.push(await nudges.createPlan(`plan-${i}`));
      queued.push(await nudges.createTier(`tier-${i}`, `plan-${i}`));
    }
    await publish(bus, queued.map((m) => ({ ...m, topic: topicOf(m.topic) })));
    const synced = async () => {
      for (let i = 0; i < 3; i++) {
        if ((await planOf(store, `plan-${i}`))?.syncStatus !== "SYNCED") return false;
        if ((await tierOf(store, `tier-${i}`))?.syncStatus !== "SYNCED") return false;
      }
      return true;
    };
    await eventually(synced, "every plan and tier synced");

    assert.equal(breaks, 1);
    assert.ok(!states.includes("open"), `a call reached Stripe while open: ${states}`);
    assert.ok(states.includes("half-open"), "no trial call");
    // 5 failures, then one success per object: nothing was given up on or made twice.
    assert.equal(stripe.requests.filter((r) => r.status === 503).length, 5);
    assert.equal(stripe.requests.filter((r) => r.status === 200 && !r.replayed).length, 6);
    assert.equal(stripe.products.size, 3);
    assert.equal(stripe.prices.size, 3);
    assert.equal(resilient.circuit.state(), "closed");
  } finally {
    await runner.stop();
    await bus.close();
    resilient.dispose();
    await stripe.close();
  }
};

Deno.test(
  "five failures open the breaker: consumption pauses, no calls in the cooldown, then all is synced",
  breakerScenario(sqliteUnderTest),
);

Deno.test({
  name: "five failures open the breaker, on Kafka with two consumers a topic",
  ignore: !BROKERS,
  fn: breakerScenario(kafkaUnderTest),
});

Deno.test("a refusal marks the tier FAILED with Stripe's message and the next messages go on", async () => {
  const stripe = startStripeStandIn();
  const bus = sqliteBus({ path: ":memory:", pollMs: 20 });
  const store = memoryEventStore();
  const nudges = catalog(store);
  const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url });
  const runner = await startOutbound({ bus, deps: { store, gateway, clock: () => NOW } });
  try {
    await publish(bus, [
      await nudges.createPlan("plan-1"),
      await nudges.createTier("tier-1", "plan-1", { currency: "xyz" }),
      await nudges.createTier("tier-2", "plan-1", { currency: "usd" }),
    ]);
    await eventually(
      async () => (await tierOf(store, "tier-2"))?.syncStatus === "SYNCED",
      "the next tier synced",
    );
    const refused = await tierOf(store, "tier-1");
    assert.equal(refused?.syncStatus, "FAILED");
    assert.match(refused?.syncError ?? "", /^Invalid currency: xyz\. Stripe currently supports/);
    assert.equal(stripe.prices.size, 1);
  } finally {
    await runner.stop();
    await bus.close();
    await stripe.close();
  }
});

Deno.test("a store failure after the Stripe call: the redelivery creates nothing new", async () => {
  const stripe = startStripeStandIn();
  try {
    const inner = memoryEventStore();
    let failNextAppend = true;
    const store: EventStore = {
      ...inner,
      append: (stream, events, expected) => {
        if (failNextAppend && events.some((e) => e.type === "StripeProductLinked")) {
          failNextAppend = false;
          return Promise.reject(new Error("disk full"));
        }
        return inner.append(stream, events, expected);
      },
    };
    const gateway = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url });
    const handle = outboundHandler({ store, gateway, clock: () => NOW });
    const message = await catalog(store).createPlan("plan-1");
    await assert.rejects(handle(message), /disk full/);
    await handle(message);
    assert.equal(stripe.products.size, 1);
    assert.deepEqual(stripe.requests.map((r) => [r.idempotencyKey, r.replayed]), [
      [keyOf(message), false],
      [keyOf(message), true],
    ]);
    assert.equal((await planOf(store, "plan-1"))?.stripeProductId, [...stripe.products.keys()][0]);
  } finally {
    await stripe.close();
  }
});

/** Runs the crashing consumer to its death, then a fresh consumer on the same files. */
const crashThenRestart = async (mode: "afterStripe" | "afterAppend") => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-outbound-crash-" });
  const busPath = `${dir}/bus.sqlite`;
  const storePath = `${dir}/events.sqlite`;
  const stripe = startStripeStandIn();
  const store = sqliteEventStore(storePath);
  const bus = sqliteBus({ path: busPath, pollMs: 20 });
  try {
    const message = await catalog(store).createPlan("plan-1");
    await publish(bus, [message]);
    const root = new URL("../../../", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-net",
        "--allow-env",
        "--allow-sys",
        `${root}tests/support/stripe_outbound_crash.ts`,
        busPath,
        storePath,
        stripe.url,
        mode,
      ],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const { code, stderr } = await child.output().finally(() => clearTimeout(timer));
    assert.equal(code, CRASH_EXIT_CODE, new TextDecoder().decode(stderr));
    const linkedAtCrash = (await planOf(store, "plan-1"))?.stripeProductId ?? null;
    const requestsAtCrash = stripe.requests.length;

    // The fresh consumer gets the message again: it reads the plan to handle it.
    let redelivered = false;
    const watched: EventStore = {
      ...store,
      readStream: (stream) => {
        if (stream === planStream("plan-1")) redelivered = true;
        return store.readStream(stream);
      },
    };
    const runner = await startOutbound({
      bus,
      deps: {
        store: watched,
        gateway: stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }),
        clock: () => NOW,
      },
    });
    try {
      await eventually(
        async () => redelivered && (await planOf(store, "plan-1"))?.syncStatus === "SYNCED",
        "the redelivered message handled",
      );
    } finally {
      // Lets the message in hand finish.
      await runner.stop();
    }
    return {
      linkedAtCrash,
      requestsAtCrash,
      requests: stripe.requests,
      products: [...stripe.products.keys()],
      plan: await planOf(store, "plan-1"),
      key: keyOf(message),
    };
  } finally {
    await bus.close();
    await store.close();
    await stripe.close();
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test("a crash after Stripe answered and before the link was recorded: the redelivery creates nothing new", async () => {
  const run = await crashThenRestart("afterStripe");
  assert.equal(run.linkedAtCrash, null);
  assert.equal(run.requestsAtCrash, 1);
  assert.equal(run.products.length, 1);
  assert.deepEqual(run.requests.map((r) => [r.idempotencyKey, r.replayed]), [
    [run.key, false],
    [run.key, true],
  ]);
  assert.equal(run.plan?.stripeProductId, run.products[0]);
});

Deno.test("a crash after the link was recorded and before the offset was committed: the redelivery calls Stripe no more", async () => {
  const run = await crashThenRestart("afterAppend");
  assert.equal(run.linkedAtCrash, run.products[0]);
  assert.equal(run.products.length, 1);
  assert.equal(run.requests.length, 1);
  assert.equal(run.plan?.stripeProductId, run.products[0]);
});
