// Signed webhook ingest in dev mode: `deno task dev` (in-process bus, SQLite, simulator)
// beside a bare Deno.serve answering 200 and the webhooks app alone (the same recording and
// durability, no consumers), each a process of its own on this machine:
// - max: a closed loop with CONCURRENCY (64) requests in flight, for requests/s (goal:
//   the webhook ≥ 0.5× bare);
// - steady: RATE (1,000) requests/s, p50/p99 from when each was due (goal: p99 < 5 ms),
//   while the dev process's consumers import every product as a plan; then how long they
//   took to apply the last one.
// Each load on a fresh DATA_DIR. Every request is a distinct, validly signed
// product.created, so each one is recorded and applied. docs/benchmarks.md shows the table.
//   deno task bench tests/apps/dev/ingest_bench.ts   (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_RATE)
import {
  closedLoop,
  fixedRate,
  type LoadResult,
  poster,
  signedProductEvents,
} from "../../support/http_load.ts";
import { freePort } from "../../support/process.ts";

/** BUS_CONCURRENCY of this run, handed to `deno task dev` when set. */
const busConcurrency = Deno.env.get("BUS_CONCURRENCY");
import { API_KEY, SECRET, webhookUrl } from "../../support/webhook_fixtures.ts";
import { startListening, startWebhooksApp } from "../../support/webhooks_app.ts";
import { startDevTask } from "./dev_process.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const CONCURRENCY = Number(Deno.env.get("BENCH_CONCURRENCY") ?? 64);
const RATE = Number(Deno.env.get("BENCH_RATE") ?? 1000);
const WARMUP = 500;

const BARE = `Deno.serve({ port: 0, onListen: ({ port }) =>
  console.error(JSON.stringify({ message: "listening", port })) },
  async (request) => { await request.arrayBuffer();
    return new Response('{"received":true}', { headers: { "content-type": "application/json" } }); });`;

type Load = "max" | "steady";
const row = (name: string, load: Load, r: LoadResult, note = "") =>
  `| ${name} | ${load === "max" ? `max, ${CONCURRENCY} in flight` : `${RATE}/s`} | ${
    r.rps.toFixed(0)
  } | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors}/${r.sent} | ${note} |`;

const run = async (
  load: Load,
  url: string,
  shots: Awaited<ReturnType<typeof signedProductEvents>>,
) => {
  const warm = poster(url, shots.slice(0, WARMUP));
  try {
    for (let i = 0; i < WARMUP; i++) await warm();
  } finally {
    warm.close();
  }
  const send = poster(url, shots.slice(WARMUP));
  try {
    return load === "max"
      ? await closedLoop(send, CONCURRENCY, SECONDS)
      : await fixedRate(send, RATE, SECONDS);
  } finally {
    send.close();
  }
};

const bare = async (load: Load) => {
  const app = await startListening(["eval", BARE], {});
  try {
    return row(
      "bare Deno.serve",
      load,
      await run(
        load,
        `http://127.0.0.1:${app.port}/`,
        await signedProductEvents(WARMUP + 80_000, "bare"),
      ),
    );
  } finally {
    app.kill("SIGTERM");
    await app.finished();
  }
};

/**
 * The webhooks app alone, in a process of its own (the production topology), with the same
 * durability: what recording a webhook costs, without the consumers beside it.
 */
const alone = async (load: Load) => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-ingest-bench-" });
  const app = await startWebhooksApp({
    STRIPE_WEBHOOKS_SECRET: SECRET,
    WEBHOOKS_API_KEY: API_KEY,
    DATA_DIR: dir,
    WEBHOOKS_PORT: "0", // its "listening" line (at info) says which
  });
  try {
    const shots = await signedProductEvents(
      WARMUP + (load === "max" ? 80_000 : RATE * SECONDS),
      `alone${load}`,
    );
    const result = await run(load, webhookUrl(API_KEY, `http://127.0.0.1:${app.port}`), shots);
    return row("webhooks app alone", load, result, "records only; nothing applied");
  } finally {
    app.kill("SIGTERM");
    await app.finished();
    await Deno.remove(dir, { recursive: true });
  }
};

/** What the dev process's consumers applied, from its /metrics. */
const applied = async (opsPort: string) => {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  return Number(
    text.match(/bus_messages_consumed_total\{group="nudges-inbound"[^}]*\} (\d+)/)?.[1] ?? 0,
  );
};

const dev = async (load: Load) => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-ingest-bench-" });
  const opsPort = String(freePort());
  const shots = await signedProductEvents(
    WARMUP + (load === "max" ? 80_000 : RATE * SECONDS),
    `dev${load}`,
  );
  const stack = await startDevTask({
    DATA_DIR: dir,
    PRODUCT_API_PORT: String(freePort()),
    WEBHOOKS_PORT: String(freePort()),
    KAFKA_CONSUMER_PORT: opsPort,
    ...busConcurrency ? { BUS_CONCURRENCY: busConcurrency } : {},
    STRIPE_WEBHOOKS_SECRET: SECRET,
    WEBHOOKS_API_KEY: API_KEY,
    LOG_LEVEL: "error",
  });
  try {
    const result = await run(load, webhookUrl(API_KEY, stack.webhooks), shots);
    const ended = performance.now();
    const atEnd = await applied(opsPort);
    while ((await applied(opsPort)) < WARMUP + result.sent - result.errors) {
      if (performance.now() - ended > 600_000) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const note = `${atEnd} of ${WARMUP + result.sent} applied when the load ended, all ${
      ((performance.now() - ended) / 1000).toFixed(1)
    } s later`;
    return row("dev mode webhook", load, result, note);
  } finally {
    await stack.stop();
    await Deno.remove(dir, { recursive: true });
  }
};

let ran: Promise<void> | undefined;
Deno.bench({
  name: "webhook ingest in dev mode vs bare Deno.serve",
  n: 1,
  warmup: 0,
  async fn() {
    await (ran ??= all());
  },
});

async function all() {
  const rows = [
    await bare("max"),
    await alone("max"),
    await dev("max"),
    await bare("steady"),
    await alone("steady"),
    await dev("steady"),
  ];
  const rps = (line: string) => Number(line.split("|")[3]);
  console.log([
    `\n${Deno.build.target}, ${navigator.hardwareConcurrency} cores, load average ${
      Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
    }; ${SECONDS} s a load`,
    "| server | load | requests/s | p50 ms | p99 ms | errors | consumers |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    `max requests/s, dev-mode webhook / bare: ${(rps(rows[2]!) / rps(rows[0]!)).toFixed(2)}; ` +
    `webhooks app alone / bare: ${(rps(rows[1]!) / rps(rows[0]!)).toFixed(2)}`,
  ].join("\n"));
}
