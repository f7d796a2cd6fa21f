import assert from "node:assert/strict";
import { opsHandler } from "../../../adapters/http/ops.ts";

const get = (path: string) => new Request(`http://localhost${path}`);

Deno.test("opsHandler() says ready only when every check answers", async () => {
  let busUp = true;
  const ops = opsHandler({
    checks: [
      { name: "eventStore", check: () => Promise.resolve() },
      {
        name: "bus",
        check: () => busUp ? Promise.resolve() : Promise.reject(new Error("no broker")),
      },
    ],
    metrics: () => "up 1\n",
  });
  const ready = await ops(get("/readyz"));
  assert.equal(ready?.status, 200);
  assert.deepEqual(await ready?.json(), {
    status: "ready",
    checks: { eventStore: "ok", bus: "ok" },
  });

  busUp = false;
  const notReady = await ops(get("/readyz"));
  assert.equal(notReady?.status, 503);
  assert.deepEqual((await notReady?.json()).checks, { eventStore: "ok", bus: "no broker" });
});

Deno.test("opsHandler() fails a check that hangs instead of hanging itself", async () => {
  let release = () => {};
  const ops = opsHandler({
    checks: [{ name: "eventStore", check: () => new Promise<void>((r) => release = r) }],
    metrics: () => "",
    timeoutMs: 20,
  });
  const response = await ops(get("/readyz"));
  release();
  assert.equal(response?.status, 503);
  assert.match((await response?.json()).checks.eventStore, /no answer within 20 ms/);
});

Deno.test("opsHandler() serves /healthz and /metrics and passes other requests on", async () => {
  const ops = opsHandler({ checks: [], metrics: () => "webhooks_total 3\n" });
  assert.equal((await ops(get("/healthz")))?.status, 200);
  const metrics = await ops(get("/metrics"));
  assert.match(metrics?.headers.get("content-type") ?? "", /^text\/plain; version=0.0.4/);
  assert.equal(await metrics?.text(), "webhooks_total 3\n");
  assert.equal(await ops(get("/graphql")), null);
  assert.equal(await ops(new Request("http://localhost/healthz", { method: "POST" })), null);
});
