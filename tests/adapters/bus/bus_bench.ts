// Publish → consume round trips through the in-process bus (SQLite file) and, with
// KAFKA_BROKERS set, through a real Kafka broker. One publisher and one consumer (one
// group, manual commit after each message, as in production) in this process:
// - throughput: BENCH_MESSAGES messages published in batches of 100 (as the outbox
//   does), timed from the first publish to the last message handled;
// - latency: one message at a time at BENCH_RATE/s for BENCH_SECONDS, each timed from
//   its publish() call to its handler (p50/p99).
// Messages are the size of a real PlanCreatedEvent. The table printed is what
// docs/benchmarks.md "## Bus" shows.
//   deno task bench tests/adapters/bus/bus_bench.ts
import type { Bus } from "../../../application/ports/bus.ts";
import { HEADERS, TOPICS } from "../../../application/shared/integration_events.ts";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { eventually } from "./bus_helpers.ts";

const MESSAGES = Number(Deno.env.get("BENCH_MESSAGES") ?? 10_000);
const RATE = Number(Deno.env.get("BENCH_RATE") ?? 200);
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const BATCH = 100;
const brokers = Deno.env.get("KAFKA_BROKERS");

const value = (n: number) =>
  JSON.stringify({
    type: "PlanCreatedEvent",
    version: 1,
    eventId: crypto.randomUUID(),
    occurredAt: new Date().toISOString(),
    data: {
      planId: `plan-${n}`,
      name: "Pro plan with a reasonably long name",
      description: "Everything in Basic, plus priority support and unlimited nudges per month.",
      iconUrl: "https://cdn.example.com/icons/pro.png",
      isActive: true,
    },
  });

const message = (topic: string, n: number) => ({
  topic,
  key: `plan-${n % 50}`,
  value: value(n),
  headers: {
    [HEADERS.type]: "PlanCreatedEvent",
    [HEADERS.eventId]: crypto.randomUUID(),
    [HEADERS.correlationId]: crypto.randomUUID(),
    [HEADERS.causationId]: crypto.randomUUID(),
  },
});

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

const measure = async (name: string, bus: Bus) => {
  const topic = `${TOPICS.plans}.bench.${crypto.randomUUID().slice(0, 8)}`;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let handled = 0;
  const consumer = await bus.consume({
    groupId: `bench-${topic}`,
    topics: [topic],
    handler: (m) => {
      handled++;
      const sent = sentAt.get(m.headers[HEADERS.eventId]!);
      if (sent !== undefined) latencies.push(performance.now() - sent);
      return Promise.resolve();
    },
  });
  try {
    // Warm up: topic creation, group join, JIT.
    await bus.publish(Array.from({ length: 500 }, (_, n) => message(topic, n)));
    await eventually(() => handled >= 500, "warm-up", 120_000);

    handled = 0;
    const start = performance.now();
    for (let n = 0; n < MESSAGES; n += BATCH) {
      await bus.publish(Array.from({ length: BATCH }, (_, i) => message(topic, n + i)));
    }
    const published = performance.now();
    await eventually(() => handled >= MESSAGES, "throughput run", 600_000);
    const done = performance.now();

    const total = RATE * SECONDS;
    const pending: Promise<void>[] = [];
    const rateStart = performance.now();
    for (let i = 0; i < total;) {
      for (; i < total && rateStart + (i * 1000) / RATE <= performance.now(); i++) {
        const m = message(topic, i);
        sentAt.set(m.headers[HEADERS.eventId]!, performance.now());
        pending.push(bus.publish([m]));
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
    await eventually(() => latencies.length >= total, "latency run", 600_000);
    const sorted = latencies.sort((a, b) => a - b);
    return `| ${name} | ${(MESSAGES / ((done - start) / 1000)).toFixed(0)} | ${
      (MESSAGES / ((published - start) / 1000)).toFixed(0)
    } | ${percentile(sorted, 0.5).toFixed(2)} | ${percentile(sorted, 0.99).toFixed(2)} |`;
  } finally {
    await consumer.stop();
  }
};

Deno.bench({
  name: "bus round trip: in-process (SQLite) and Kafka",
  n: 1,
  warmup: 0,
  async fn() {
    const rows: string[] = [];
    const dir = await Deno.makeTempDir({ prefix: "nudges-bus-bench-" });
    const sqlite = sqliteBus({ path: `${dir}/bus.sqlite` });
    try {
      rows.push(await measure("in-process bus (SQLite file, WAL, synchronous=FULL)", sqlite));
    } finally {
      await sqlite.close();
      await Deno.remove(dir, { recursive: true });
    }
    if (brokers) {
      const kafka = kafkaBus({ brokers: brokers.split(",") });
      try {
        rows.push(await measure(`Kafka via kafkajs (${brokers})`, kafka));
      } finally {
        await kafka.close();
      }
    } else {
      console.log("bus_bench.ts: Kafka skipped, KAFKA_BROKERS is not set");
    }
    console.log([
      `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores; ${MESSAGES} messages ` +
      `in batches of ${BATCH}; latency at ${RATE}/s for ${SECONDS} s`,
      "| bus | round trips/s | publish msgs/s | p50 ms | p99 ms |",
      "| --- | --- | --- | --- | --- |",
      ...rows,
    ].join("\n"));
  },
});
