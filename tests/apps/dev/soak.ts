// Soak run (a bench task, minutes long, not a CI test): `deno task dev` under steady load for
// SOAK_MINUTES (default 10): signed webhooks (product.created, a new Dashboard product each)
// at SOAK_WEBHOOKS_PER_S, GraphQL reads (plan by id) at SOAK_QUERIES_PER_S and createPlan
// mutations at SOAK_MUTATIONS_PER_S, plus one onPlanUpdated subscriber that never reads its
// socket. It samples the dev process's memory (RSS, from ps) and the outbox lease's renewal
// time (lease_acquire_seconds on the consumers' /metrics), and prints what
// docs/benchmarks.md ("Soak") shows: the first minutes beside the last ones.
//   deno task soak            (SOAK_MINUTES=1 deno task soak for a quick look)
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readRunFile } from "../../../apps/dev/run_file.ts";
import { product, signature, stripeEvent } from "../../support/webhook_fixtures.ts";
import { startDevTask } from "./dev_process.ts";
import { type Call, type Sample, soakReport } from "./soak_report.ts";

const number = (name: string, fallback: number) => Number(Deno.env.get(name) ?? fallback);
const MINUTES = number("SOAK_MINUTES", 10);
const WEBHOOKS_PER_S = number("SOAK_WEBHOOKS_PER_S", 10);
const QUERIES_PER_S = number("SOAK_QUERIES_PER_S", 5);
const MUTATIONS_PER_S = number("SOAK_MUTATIONS_PER_S", 0.5);
/** The windows compared: the first and the last this many seconds of the run. */
const WINDOW_S = Math.min(120, (MINUTES * 60) / 3);
const SAMPLE_MS = 5_000;

const SECRET = `whsec_soak_${crypto.randomUUID().replaceAll("-", "")}`;
const API_KEY = `soak-api-key-${crypto.randomUUID()}`;
const TOKEN = `soak-token-${crypto.randomUUID()}`;

const dataDir = await Deno.makeTempDir({ prefix: "soak_" });
const dev = await startDevTask({
  DATA_DIR: dataDir,
  PRODUCT_API_PORT: "0",
  WEBHOOKS_PORT: "0",
  KAFKA_CONSUMER_PORT: "0",
  STRIPE_WEBHOOKS_SECRET: SECRET,
  WEBHOOKS_API_KEY: API_KEY,
  PRODUCT_API_TOKEN: TOKEN,
  LOG_LEVEL: "warn",
});
const run = (await readRunFile(dataDir))!;
// The dev process itself (deno task runs it as a child of its own).
const pid = (JSON.parse(await Deno.readTextFile(join(dataDir, "dev_run.json"))) as { pid: number })
  .pid;
const started = performance.now();
const seconds = () => (performance.now() - started) / 1000;
const endAt = started + MINUTES * 60_000;

/** The dev process's resident memory, MiB (from ps: Deno lets no process read another's /proc). */
const rssMiB = async () => {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
};

/** Renewals of the outbox lease so far and the seconds they took, from the consumers' /metrics. */
const renewals = async () => {
  const text = await (await fetch(`${run.consumerOps}/metrics`)).text();
  const value = (suffix: string) =>
    Number(
      text.match(
        new RegExp(
          `^lease_acquire_seconds_${suffix}\\{[^}]*outcome="renewed"[^}]*\\} (\\S+)$`,
          "m",
        ),
      )?.[1] ?? 0,
    );
  return { count: value("count"), sum: value("sum") };
};

/**
 * A graphql-transport-ws subscriber to onPlanUpdated that never reads its socket: it sends the
 * upgrade, connection_init and subscribe, and then nothing is ever read, not even the 101.
 */
const neverReadingSubscriber = async () => {
  const url = new URL(run.graphql);
  const socket = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const frame = (message: unknown) => {
    const payload = new TextEncoder().encode(JSON.stringify(message));
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const head = payload.length < 126
      ? [0x81, 0x80 | payload.length]
      : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const bytes = new Uint8Array(head.length + 4 + payload.length);
    bytes.set(head);
    bytes.set(mask, head.length);
    payload.forEach((b, i) => bytes[head.length + 4 + i] = b ^ mask[i % 4]!);
    return bytes;
  };
  const write = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await socket.write(bytes.subarray(at));
  };
  await write(new TextEncoder().encode(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
  ));
  await new Promise((resolve) => setTimeout(resolve, 200)); // the upgrade is answered
  await write(frame({ type: "connection_init", payload: { authorization: `Bearer ${TOKEN}` } }));
  await write(frame({
    id: "1",
    type: "subscribe",
    payload: { query: "subscription { onPlanUpdated { id name description stripeProductId } }" },
  }));
  return socket;
};

/** Calls `send` at `perSecond` until the end of the run, recording each call. */
const steady = async (perSecond: number, send: (n: number) => Promise<boolean>, log: Call[]) => {
  if (perSecond <= 0) return;
  const pending: Promise<void>[] = [];
  for (let n = 0;; n++) {
    const due = started + (n * 1000) / perSecond;
    if (due >= endAt) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const atS = seconds();
    pending.push(
      send(n).then((ok) => ok, () => false).then((ok) =>
        void log.push({ atS, ms: performance.now() - due, ok })
      ),
    );
  }
  await Promise.all(pending);
};

const webhookUrl = `${run.webhooks}/api/StripeWebhookHandler?code=${API_KEY}`;
const createdBase = Math.floor(Date.now() / 1000);
const sendWebhook = async (n: number) => {
  const id = `prod_soak_${n}`;
  const body = JSON.stringify(
    stripeEvent("product.created", product({ id, name: `Soak product ${n}`, metadata: {} }), {
      id: `evt_soak_${n}`,
      created: createdBase + n,
    }),
  );
  const response = await fetch(webhookUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": await signature(body, {
        secrets: [SECRET],
        timestamp: Math.floor(Date.now() / 1000),
      }),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status === 200;
};

const planIds: string[] = [];
const gql = async (query: string, variables: Record<string, unknown>) => {
  const response = await fetch(run.graphql, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  return response.status === 200 && !body.errors ? body.data : null;
};
const sendMutation = async (n: number) => {
  const data = await gql(`mutation($name: String!) { createPlan(input: { name: $name }) { id } }`, {
    name: `Soak plan ${n}`,
  });
  if (data) planIds.push(data.createPlan.id);
  return data !== null;
};
const sendQuery = async (n: number) => {
  const id = planIds[n % Math.max(1, planIds.length)];
  if (id === undefined) return (await gql(`{ plans { id } }`, {})) !== null;
  return (await gql(`query($id: ID!) { plan(id: $id) { id name priceTiers { id } } }`, { id })) !==
    null;
};

const samples: Sample[] = [];
const sample = async () => {
  const lease = await renewals();
  samples.push({
    atS: seconds(),
    rssMiB: await rssMiB(),
    renewals: lease.count,
    renewalSeconds: lease.sum,
  });
};

const calls = { webhooks: [] as Call[], queries: [] as Call[], mutations: [] as Call[] };
let lease: { kept: number; last: number };
let status: Deno.CommandStatus;
try {
  const subscriber = await neverReadingSubscriber();
  await sample();
  const sampler = setInterval(() => sample().catch(() => {}), SAMPLE_MS);
  try {
    await Promise.all([
      steady(WEBHOOKS_PER_S, sendWebhook, calls.webhooks),
      steady(QUERIES_PER_S, sendQuery, calls.queries),
      steady(MUTATIONS_PER_S, sendMutation, calls.mutations),
    ]);
    await sample();
  } finally {
    clearInterval(sampler);
  }
  // The outbox lease's stream as the store holds it at the end (read while the dev run still
  // has the file open: WAL lets a second reader in).
  const db = new DatabaseSync(join(dataDir, "events.sqlite"), { readOnly: true });
  try {
    lease = db.prepare(
      "SELECT count(*) AS kept, max(revision) AS last FROM events WHERE stream_id = 'lease-outbox'",
    ).get() as { kept: number; last: number };
  } finally {
    db.close();
  }
  subscriber.close();
} finally {
  status = await dev.stop();
  await Deno.remove(dataDir, { recursive: true });
}

console.log(soakReport({
  setup: `${MINUTES} min of ${WEBHOOKS_PER_S} webhooks/s, ${QUERIES_PER_S} queries/s, ` +
    `${MUTATIONS_PER_S} mutations/s, one onPlanUpdated subscriber that never reads`,
  totalS: MINUTES * 60,
  windowS: WINDOW_S,
  sampleMs: SAMPLE_MS,
  samples,
  calls,
  lease,
  exitCode: status.code,
}));
