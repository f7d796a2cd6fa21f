// Signed webhook ingest through apps/webhooks/main.ts, beside a bare Deno.serve that
// answers 200, each a process of its own on this machine, driven from this process:
// - max: a closed loop with CONCURRENCY requests in flight, for requests/s;
// - fixed rate: an open loop sending RATE requests/s, latency measured from when each
//   request was due (so a stall is not hidden), for p50/p99.
// Every webhook is a distinct, validly signed event, so each one is really appended.
// With KAFKA_BROKERS set, the webhook runs again with the outbox publishing to Kafka
// from its own process while requests come in (the production topology).
// The tables printed are what docs/benchmarks.md "## Webhook ingest" shows.
//   deno task bench tests/adapters/http/webhooks_bench.ts
import { API_KEY, SECRET } from "../../support/webhook_fixtures.ts";
import {
  closedLoop,
  fixedRate,
  type LoadResult,
  poster,
  type Send,
  type Shot,
  signedProductEvents,
} from "../../support/http_load.ts";
import { type AppProcess, startListening, startWebhooksApp } from "../../support/webhooks_app.ts";
import { join } from "node:path";

const OUTBOX = new URL("../../support/webhooks_outbox_process.ts", import.meta.url).pathname;

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 32);
const RATE = Number(Deno.env.get("BENCH_RATE") ?? 1000);
const SIGNED = Number(Deno.env.get("BENCH_EVENTS") ?? 60_000);

const BARE = `Deno.serve({ port: 0, onListen: ({ port }) =>
  console.error(JSON.stringify({ message: "listening", port })) },
  async (request) => { await request.arrayBuffer();
    return new Response('{"received":true}', { headers: { "content-type": "application/json" } }); });`;

const startBare = () => startListening(["eval", BARE], {});

const sender = (port: number, path: string, shots: Shot[]) =>
  poster(`http://127.0.0.1:${port}${path}`, shots);

const row = (name: string, mode: string, r: LoadResult) =>
  `| ${name} | ${mode} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${
    r.p99.toFixed(2)
  } | ${r.errors}/${r.sent} |`;

/** Warms up, then the closed loop and the fixed rate; the server keeps running. */
const measure = async (name: string, port: number, path: string, shots: Shot[]) => {
  const load = async <T>(shots: Shot[], run: (send: Send) => Promise<T>) => {
    const send = sender(port, path, shots);
    return await run(send).finally(send.close);
  };
  await load(shots.slice(-500), async (warm) => {
    for (let i = 0; i < 500; i++) await warm();
  });
  const max = await load(shots, (send) => closedLoop(send, CONCURRENCY, SECONDS));
  const steady = await load(shots.slice().reverse(), (send) => fixedRate(send, RATE, SECONDS));
  return {
    max,
    steady,
    rows: [row(name, `max, ${CONCURRENCY} in flight`, max), row(name, `${RATE}/s`, steady)],
  };
};

const stopped = async (app: AppProcess) => {
  app.kill("SIGTERM");
  await app.finished();
};

const webhookPath = `/api/StripeWebhookHandler?code=${API_KEY}`;
const appEnv = (dataDir: string) => ({
  STRIPE_WEBHOOKS_SECRET: SECRET,
  WEBHOOKS_API_KEY: API_KEY,
  DATA_DIR: dataDir,
  WEBHOOKS_PORT: "0",
});

/** Events the app has recorded, from its /metrics. */
const recorded = async (port: number) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(text.match(/webhooks_requests_total\{outcome="recorded"\} (\d+)/)?.[1] ?? 0);
};

/** The webhook app with the outbox publishing its store to Kafka, from a process of its own. */
const withKafka = async (brokers: string, shots: Shot[]) => {
  const dataDir = await Deno.makeTempDir();
  const app = await startWebhooksApp(appEnv(dataDir));
  const outbox = await startListening(
    ["run", "-A", OUTBOX, join(dataDir, "events.sqlite"), brokers],
    {},
  );
  try {
    const result = await measure("webhook → SQLite, outbox → Kafka", app.port, webhookPath, shots);
    const total = await recorded(app.port);
    const loadEnd = performance.now();
    const caughtUp = () =>
      outbox.output.some((line) =>
        line.includes('"caught up"') && JSON.parse(line).position >= total
      );
    while (!caughtUp()) {
      if (performance.now() - loadEnd > 120_000) throw new Error("the outbox did not catch up");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const drainMs = performance.now() - loadEnd;
    return {
      ...result,
      note: `${total} events on Kafka ${drainMs.toFixed(0)} ms after the load ended`,
    };
  } finally {
    await stopped(outbox);
    await stopped(app);
    await Deno.remove(dataDir, { recursive: true });
  }
};

Deno.bench({
  name: "webhook ingest vs bare Deno.serve (fixed rate and max)",
  n: 1,
  warmup: 0,
  async fn() {
    const dataDir = await Deno.makeTempDir();
    try {
      const shots = await signedProductEvents(SIGNED, "bench");
      const bareApp = await startBare();
      const bare = await measure("bare Deno.serve 200", bareApp.port, "/", shots).finally(() =>
        stopped(bareApp)
      );
      const app = await startWebhooksApp(appEnv(dataDir));
      const ingest = await measure(
        "webhook → SQLite store (in-process bus path)",
        app.port,
        webhookPath,
        shots,
      ).finally(() => stopped(app));
      const brokers = Deno.env.get("KAFKA_BROKERS");
      const kafka = brokers
        ? await withKafka(brokers, await signedProductEvents(SIGNED, "kafka"))
        : null;
      if (!brokers) console.log("Kafka run skipped: KAFKA_BROKERS is not set");
      console.log(
        [
          `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores, ${SECONDS} s per run`,
          "| server | load | requests/s | p50 ms | p99 ms | errors |",
          "| --- | --- | --- | --- | --- | --- |",
          ...bare.rows,
          ...ingest.rows,
          ...kafka?.rows ?? [],
          `max requests/s, webhook / bare: ${(ingest.max.rps / bare.max.rps).toFixed(2)}` +
          (kafka ? `; with the outbox to Kafka: ${(kafka.max.rps / bare.max.rps).toFixed(2)}` : ""),
          ...kafka ? [kafka.note] : [],
        ].join("\n"),
      );
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
