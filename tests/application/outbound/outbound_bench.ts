// Outbound throughput: PLANS plans with 3 price tiers each go through the bus to a Stripe
// stand-in that answers in 50 ms and allows LIMIT requests/s, answering 429 (Retry-After)
// beyond. Through Kafka when KAFKA_BROKERS is set (topics of this run with PARTITIONS
// partitions, CONSUMERS consumers per topic), else through the SQLite bus (one partition
// a topic). Each consumer has up to CONCURRENCY (32) calls in flight. Two runs: with the
// client-side throttle at the limit, and without it (429s and Retry-After only).
// Prints what docs/benchmarks.md "## Outbound to Stripe" shows.
//   KAFKA_BROKERS=127.0.0.1:9092 deno task bench tests/application/outbound_bench.ts
import { Kafka, logLevel } from "kafkajs";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { resilientGateway } from "../../../adapters/stripe/resilience.ts";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import type { Bus, OutgoingMessage } from "../../../application/ports/bus.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { TOPICS } from "../../../application/shared/integration_events.ts";
import { startOutbound } from "../../../application/outbound/consumer.ts";
import { catalog } from "../../support/stripe_outbound_fixtures.ts";
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";

const env = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const PLANS = env("OUTBOUND_BENCH_PLANS", 1000);
const LIMIT = env("OUTBOUND_BENCH_RPS", 100);
const LATENCY_MS = env("OUTBOUND_BENCH_LATENCY_MS", 50);
const PARTITIONS = env("OUTBOUND_BENCH_PARTITIONS", 12);
const CONSUMERS = env("OUTBOUND_BENCH_CONSUMERS", 12);
/** Stripe calls each consumer has in flight (startOutbound's concurrency, BUS_CONCURRENCY). */
const CONCURRENCY = env("OUTBOUND_BENCH_CONCURRENCY", 32);
const BROKERS = Deno.env.get("KAFKA_BROKERS")?.split(",") ?? null;
const TIERS = 3;

type Topics = { plans: string; priceTiers: string };

/** The messages the outbox would publish, on this run's topics. */
const seed = async (store: EventStore, topics: Topics): Promise<OutgoingMessage[]> => {
  const nudges = catalog(store);
  const messages: OutgoingMessage[] = [];
  const add = ({ topic, key, value, headers }: OutgoingMessage) =>
    messages.push({
      topic: topic === TOPICS.plans ? topics.plans : topics.priceTiers,
      key,
      value,
      headers,
    });
  for (let p = 0; p < PLANS; p++) {
    add(await nudges.createPlan(`plan-${p}`, { name: `Plan ${p}` }));
    for (let t = 0; t < TIERS; t++) {
      add(await nudges.createTier(`tier-${p}-${t}`, `plan-${p}`, { unitAmount: 500 * (t + 1) }));
    }
  }
  return messages;
};

const openBus = async (
  run: string,
  topics: Topics,
): Promise<{ bus: Bus; done(): Promise<void> }> => {
  if (BROKERS) {
    const admin = new Kafka({ brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })),
    });
    await admin.disconnect();
    const bus = kafkaBus({ brokers: BROKERS, clientId: run });
    return { bus, done: () => bus.close() };
  }
  const dir = await Deno.makeTempDir({ prefix: "nudges-outbound-bench-" });
  const bus = sqliteBus({ path: `${dir}/bus.sqlite`, pollMs: 20 });
  return {
    bus,
    done: async () => {
      await bus.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
};

type Result = {
  seconds: number;
  steadyPerSecond: number;
  objects: number;
  requests: number;
  rateLimited: number;
  retries: number;
  breaks: number;
};

const run = async (throttle: boolean): Promise<Result> => {
  const id = `outbound-bench-${crypto.randomUUID().slice(0, 8)}`;
  const topics = { plans: `${id}.plans`, priceTiers: `${id}.price-tiers` };
  const stripe = startStripeStandIn({ latencyMs: LATENCY_MS, requestsPerSecond: LIMIT });
  const store = memoryEventStore();
  const messages = await seed(store, topics);
  const total = PLANS * (1 + TIERS);
  let retries = 0;
  const resilient = resilientGateway(
    stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripe.url }),
    { requestsPerSecond: throttle ? LIMIT : null, onRetry: () => retries++ },
  );
  let breaks = 0;
  resilient.circuit.onBreak(() => breaks++);

  // The time each link was recorded: the end of each object's sync.
  const linkedAt: number[] = [];
  let allLinked!: () => void;
  const finished = new Promise<void>((resolve) => allLinked = resolve);
  const counting: EventStore = {
    ...store,
    append: async (stream, events, expected) => {
      const result = await store.append(stream, events, expected);
      if (events.some((e) => e.type.endsWith("Linked"))) {
        linkedAt.push(performance.now());
        if (linkedAt.length === total) allLinked();
      }
      return result;
    },
  };

  const { bus, done } = await openBus(id, topics);
  const runner = await startOutbound({
    bus,
    deps: { store: counting, gateway: resilient.gateway, clock: () => new Date().toISOString() },
    circuit: resilient.circuit,
    groupId: id,
    topics: [topics.plans, topics.priceTiers],
    consumers: BROKERS ? CONSUMERS : 1,
    concurrency: CONCURRENCY,
  });
  // Let the consumer groups settle (joins and rebalances) before the work arrives.
  if (BROKERS) await new Promise((r) => setTimeout(r, 8000));
  const started = performance.now();
  await bus.publish(messages);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await done();
  resilient.dispose();
  await stripe.close();

  // Steady state: between the 10th and the 90th percentile of links.
  const from = linkedAt[Math.floor(total * 0.1)]!;
  const to = linkedAt[Math.floor(total * 0.9)]!;
  return {
    seconds,
    steadyPerSecond: (total * 0.8) / ((to - from) / 1000),
    objects: stripe.products.size + stripe.prices.size,
    requests: stripe.requests.length,
    rateLimited: stripe.rateLimited(),
    retries,
    breaks,
  };
};

const report = (name: string, r: Result) => {
  const total = PLANS * (1 + TIERS);
  const overall = total / r.seconds;
  console.log(
    `| ${name} | ${
      BROKERS ? `Kafka, ${PARTITIONS} partitions, ${CONSUMERS} consumers/topic` : "SQLite bus"
    } | ` +
      `${r.objects} objects in ${r.seconds.toFixed(1)} s | ${overall.toFixed(1)}/s = ` +
      `${(overall / LIMIT).toFixed(2)} | ${r.steadyPerSecond.toFixed(1)}/s = ` +
      `${(r.steadyPerSecond / LIMIT).toFixed(2)} | ${r.rateLimited} | ${r.retries} | ` +
      `${r.requests} | ${r.breaks} |`,
  );
  if (r.objects !== total) console.log(`!! expected ${total} Stripe objects, found ${r.objects}`);
};

console.log(
  `outbound: ${PLANS} plans x ${TIERS} tiers, stand-in ${LATENCY_MS} ms, limit ${LIMIT}/s`,
);
console.log(
  "| client | bus | work | overall (fraction of limit) | steady 10–90 % | 429s | retries | requests | breaker opened |",
);

// Each scenario takes a minute: run once, whatever iterations deno bench asks for.
const once = (name: string, throttle: boolean) => {
  let ran: Promise<void> | undefined;
  return async () => {
    await (ran ??= run(throttle).then((result) => report(name, result)));
  };
};

Deno.bench({
  name: `outbound ${PLANS}x${1 + TIERS} objects, throttled at the limit`,
  n: 1,
  warmup: 0,
  fn: once("throttle at limit", true),
});

Deno.bench({
  name: `outbound ${PLANS}x${1 + TIERS} objects, 429s and Retry-After only`,
  n: 1,
  warmup: 0,
  fn: once("no throttle", false),
});
