import assert from "node:assert/strict";
import { join } from "node:path";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { stripeEventStream } from "../../../application/shared/stripe_events.ts";
import {
  API_KEY,
  product,
  SECRET,
  signedRequest,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";
import { startWebhooksApp } from "../../support/webhooks_app.ts";

const appEnv = (dataDir: string) => ({
  STRIPE_WEBHOOKS_SECRET: SECRET,
  WEBHOOKS_API_KEY: API_KEY,
  DATA_DIR: dataDir,
  WEBHOOKS_PORT: "0",
});

/** Signed now: the app checks signatures against its own clock. */
const signedNow = (event: Record<string, unknown>, base: string) =>
  signedRequest(event, { base, timestamp: Math.floor(Date.now() / 1000) });

Deno.test("the webhooks app will not start without its secrets and names them", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const app = await startWebhooksApp({ DATA_DIR: dataDir, WEBHOOKS_PORT: "0" });
    assert.equal(app.listening, false);
    assert.equal((await app.finished()).code, 1);
    const text = app.output.join("\n");
    assert.match(text, /STRIPE_WEBHOOKS_SECRET/);
    assert.match(text, /WEBHOOKS_API_KEY/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the webhooks app answers probes, and a kill right after a 200 loses nothing", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const app = await startWebhooksApp(appEnv(dataDir));
    const base = `http://127.0.0.1:${app.port}`;
    try {
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const ready = await fetch(`${base}/readyz`);
      assert.deepEqual(await ready.json(), { status: "ready", checks: { eventStore: "ok" } });

      const event = stripeEvent("product.created", product({ id: "prod_APP" }), {
        id: "evt_app_1",
      });
      const response = await fetch(await signedNow(event, base));
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      app.kill("SIGKILL");
      await app.finished();
    }
    const store = sqliteEventStore(join(dataDir, "events.sqlite"));
    try {
      const events = await store.readAll();
      assert.deepEqual(events.map((e) => e.streamId), [stripeEventStream("evt_app_1")]);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the webhooks app refuses an oversized upload over a real socket with 413", async () => {
  const dataDir = await Deno.makeTempDir();
  const app = await startWebhooksApp(appEnv(dataDir));
  try {
    const connection = await Deno.connect({ hostname: "127.0.0.1", port: app.port });
    try {
      const head = `POST /api/StripeWebhookHandler?code=${API_KEY} HTTP/1.1\r\n` +
        `Host: localhost\r\nContent-Type: application/json\r\nStripe-Signature: t=1,v1=x\r\n` +
        `Content-Length: ${8 * 1024 * 1024}\r\n\r\n`;
      await connection.write(new TextEncoder().encode(head + "{"));
      const buffer = new Uint8Array(4096);
      const n = await connection.read(buffer);
      const status = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
      assert.equal(status, "HTTP/1.1 413 Payload Too Large");
    } finally {
      connection.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    assert.match(metrics, /webhooks_requests_total\{outcome="too_large"\} 1/);
  } finally {
    app.kill("SIGTERM");
    assert.equal((await app.finished()).code, 0, "SIGTERM stops it cleanly");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the webhooks app in dev mode makes up its secrets and prints them", async () => {
  const dataDir = await Deno.makeTempDir();
  const app = await startWebhooksApp({ DATA_DIR: dataDir, WEBHOOKS_PORT: "0" }, ["--dev"]);
  try {
    assert.ok(app.listening, app.output.join("\n"));
    const code = app.output.join("\n").match(/WEBHOOKS_API_KEY=(\S+)/)?.[1];
    const secret = app.output.join("\n").match(/STRIPE_WEBHOOKS_SECRET=(\S+)/)?.[1];
    assert.ok(code && secret, "the made-up code and signing secret are printed");
    const event = stripeEvent("product.created", product({ id: "prod_DEVMODE" }));
    const accepted = await fetch(
      await signedRequest(event, {
        code,
        secrets: [secret],
        base: `http://127.0.0.1:${app.port}`,
        timestamp: Math.floor(Date.now() / 1000),
      }),
    );
    assert.equal(accepted.status, 200, "what it printed is what it accepts");
    await accepted.body?.cancel();
    const wrong = await fetch(`http://127.0.0.1:${app.port}/api/StripeWebhookHandler?code=x`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
  } finally {
    app.kill("SIGTERM");
    await app.finished();
    await Deno.remove(dataDir, { recursive: true });
  }
});
