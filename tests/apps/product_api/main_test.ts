import assert from "node:assert/strict";
import {
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  getIntrospectionQuery,
} from "graphql";
import { createClient } from "graphql-ws";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { DomainEvent } from "../../../domain/decider.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import { loadConfig } from "../../../apps/config.ts";
import { type ProductApi, startProductApi } from "../../../apps/product_api/main.ts";
import { settlesWithin } from "../../adapters/graphql/harness.ts";
import { freePort } from "../../support/process.ts";
import { deadline, within } from "../../support/deadline.ts";

const TOKEN = "product-api-test-token-0123456789";
const MAIN = new URL("../../../apps/product_api/main.ts", import.meta.url).pathname;

const inTempDir = async (body: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "product_api_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

const start = (dataDir: string, extra: Partial<Parameters<typeof startProductApi>[0]> = {}) =>
  startProductApi({
    config: loadConfig({ PRODUCT_API_TOKEN: TOKEN, DATA_DIR: dataDir }, { dev: false }),
    logger: silentLogger,
    hostname: "127.0.0.1",
    port: 0,
    ...extra,
  });

/** How long a test waits for something before it fails: far beyond what it takes. */
const WAIT_MS = 30_000;
/** How long a test waits for a subscription's push before it fails. */
const PUSH_WITHIN_MS = 10_000;

/**
 * Polls `condition` until it holds (for things that happen in another process); throws,
 * naming `what`, if it still does not after WAIT_MS.
 */
const until = async (what: string, condition: () => Promise<boolean>) => {
  const limit = deadline(WAIT_MS, what);
  while (!(await condition().catch(() => false))) {
    limit.check();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

const post = async (api: ProductApi, query: string, token: string | null = TOKEN) => {
  const response = await fetch(api.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};

// The public GraphQL contract, as the UI and outside clients rely on it (a copy kept with
// the tests; CONTRACT_SCHEMA names another file, e.g. a newer contract to check against).
const CONTRACT_SCHEMA = Deno.env.get("CONTRACT_SCHEMA") ??
  new URL("../../support/fixtures/contract_schema.graphql", import.meta.url).pathname;

Deno.test("the served schema keeps the public contract: no breaking change", () =>
  inTempDir(async (dir) => {
    const api = await start(dir);
    try {
      const served = buildClientSchema(await post(api, getIntrospectionQuery()));
      const contract = buildSchema(await Deno.readTextFile(CONTRACT_SCHEMA));
      const breaking = findBreakingChanges(contract, served)
        .map((change) => `${change.type}: ${change.description}`);
      assert.deepEqual(breaking, [], `breaking changes against ${CONTRACT_SCHEMA}`);
    } finally {
      await api.close();
    }
  }));

Deno.test("the product API answers /healthz, /readyz and /metrics beside /graphql", () =>
  inTempDir(async (dir) => {
    const api = await start(dir);
    try {
      const base = api.url.replace(/\/graphql$/, "");
      assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: "ok" });
      // Ready once the read model has caught up with the store.
      await until("/readyz to answer ready", async () => {
        const response = await fetch(`${base}/readyz`);
        await response.body?.cancel();
        return response.ok;
      });
      const ready = await fetch(`${base}/readyz`);
      assert.deepEqual(await ready.json(), {
        status: "ready",
        checks: { eventStore: "ok", readModel: "ok" },
      });
      await post(api, `mutation { createPlan(input: { name: "Gold" }) { id } }`);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /graphql_requests_total\{status="200"\} 1/);
      assert.match(metrics, /projection_position 1/);
      const missing = await fetch(`${base}/nothing`);
      await missing.body?.cancel();
      assert.equal(missing.status, 404);
    } finally {
      await api.close();
    }
  }));

Deno.test("PRODUCT_API_PUBLIC_READS opens the catalog's queries to callers without a token", () =>
  inTempDir(async (dir) => {
    const anonymousPlans = async (env: Record<string, string>) => {
      const api = await start(dir, {
        config: loadConfig({ PRODUCT_API_TOKEN: TOKEN, DATA_DIR: dir, ...env }, { dev: false }),
      });
      try {
        const response = await fetch(api.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ plans { name } }" }),
        });
        return { status: response.status, body: await response.json() };
      } finally {
        await api.close();
      }
    };
    const closed = await anonymousPlans({});
    assert.equal(closed.status, 401);
    assert.equal(closed.body.errors[0].extensions.code, "UNAUTHENTICATED");
    const open = await anonymousPlans({ PRODUCT_API_PUBLIC_READS: "true" });
    assert.deepEqual(open, { status: 200, body: { data: { plans: [] } } });
  }));

Deno.test("a restarted product API has everything it had, nothing twice", () =>
  inTempDir(async (dir) => {
    const first = await start(dir);
    try {
      await post(first, `mutation { createPlan(input: { name: "Gold" }) { id } }`);
      await post(first, `mutation { createPlan(input: { name: "Silver" }) { id } }`);
    } finally {
      await first.close();
    }
    const second = await start(dir);
    try {
      await post(second, `mutation { createPlan(input: { name: "Bronze" }) { id } }`);
      const { plans } = await post(second, `{ plans { name version } }`);
      assert.deepEqual(plans, [
        { name: "Gold", version: 0 },
        { name: "Silver", version: 0 },
        { name: "Bronze", version: 0 },
      ]);
      assert.equal(second.projector.position(), 3);
    } finally {
      await second.close();
    }
  }));

Deno.test("a product API that cannot take its port fails at start and leaves nothing open", () =>
  inTempDir(async (dir) => {
    const running = await start(dir);
    try {
      await assert.rejects(
        start(`${dir}/other`, { port: running.port }),
        Deno.errors.AddrInUse,
      );
    } finally {
      await running.close();
    }
  }));

Deno.test("a killed product API process restarts with every committed write", () =>
  inTempDir(async (dir) => {
    const port = freePort();
    const spawn = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN],
        env: { PRODUCT_API_TOKEN: TOKEN, DATA_DIR: dir, PRODUCT_API_PORT: String(port) },
        stdout: "null",
        stderr: "null",
      }).spawn();
    const url = `http://127.0.0.1:${port}/graphql`;
    const api = { url } as ProductApi;
    const whenUp = () =>
      until("the spawned product API to answer /readyz", async () => {
        const response = await fetch(url.replace("/graphql", "/readyz"));
        await response.body?.cancel();
        return response.ok;
      });

    const first = spawn();
    await whenUp();
    const created = [];
    for (const name of ["A", "B", "C"]) {
      created.push(
        (await post(api, `mutation { createPlan(input: { name: "${name}" }) { id } }`)).createPlan
          .id,
      );
    }
    first.kill("SIGKILL");
    await first.status;

    const second = spawn();
    try {
      await whenUp();
      const { plans } = await post(api, `{ plans { id name } }`);
      assert.deepEqual(plans.map((p: { id: string }) => p.id), created);
    } finally {
      second.kill("SIGTERM");
      await second.status;
    }
  }));

Deno.test("outside dev mode the product API refuses to start without PRODUCT_API_TOKEN", async () => {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN],
    env: { PRODUCT_API_TOKEN: "", DATA_DIR: "/nonexistent/never-created" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(run.code, 1);
  assert.match(
    new TextDecoder().decode(run.stderr),
    /missing required environment variable\(s\): PRODUCT_API_TOKEN/,
  );
});

Deno.test("onPlanUpdated reaches subscribers of another process when the consumer links the plan", () =>
  inTempDir(async (dir) => {
    // Two API processes over one shared event store, each with its own read model.
    const readModels = [sqliteReadModel(`${dir}/a.sqlite`), sqliteReadModel(`${dir}/b.sqlite`)];
    const a = await start(dir, { readModel: readModels[0] });
    const b = await start(dir, { readModel: readModels[1] });
    const consumer = sqliteEventStore(`${dir}/events.sqlite`);
    const client = createClient({
      url: a.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${TOKEN}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
    });
    const closed = new Promise((resolve) => client.on("closed", resolve));
    try {
      const { createPlan } = await post(
        b,
        `mutation { createPlan(input: { name: "Gold" }) { id } }`,
      );
      const updates = client.iterate<
        { onPlanUpdated: { name: string; stripeProductId: string | null } }
      >({
        query: `subscription($id: ID) { onPlanUpdated(id: $id) { name stripeProductId } }`,
        variables: { id: createPlan.id },
      });
      const first = updates.next();
      // Renamed through B until A's subscriber hears of it: then it is live.
      const live = deadline(PUSH_WITHIN_MS, "A's subscriber to hear of a rename through B");
      for (let n = 1;; n++) {
        live.check();
        await post(
          b,
          `mutation { updatePlan(input: { id: "${createPlan.id}", name: "Gold ${n}" }) { id } }`,
        );
        if (await settlesWithin(first, 100)) break;
      }
      await handleCommand(consumer, planDecider, planStream(createPlan.id), {
        type: "LinkStripeProduct",
        data: { planId: createPlan.id, at: new Date().toISOString(), stripeProductId: "prod_X" },
      }, {
        metadata: {
          correlationId: "c",
          causationId: "c",
          cause: { kind: "system", reason: "test" },
        },
        newEventId: () => crypto.randomUUID(),
      });
      let linked;
      for await (const { data } of within(updates, PUSH_WITHIN_MS, "the push of the linked plan")) {
        if (data?.onPlanUpdated.stripeProductId) {
          linked = data.onPlanUpdated;
          break;
        }
      }
      assert.equal(linked?.stripeProductId, "prod_X");
      assert.match(String(linked?.name), /^Gold \d+$/);
    } finally {
      await client.dispose();
      await closed;
      await a.close();
      await b.close();
      await consumer.close();
      for (const readModel of readModels) readModel.close();
    }
  }));

const esdb = Deno.env.get("EVENTSTORE_CONNECTION_STRING");
if (!esdb) {
  console.log(
    "main_test.ts: skipped the product API over EventStoreDB: EVENTSTORE_CONNECTION_STRING is not set",
  );
}

Deno.test({
  name: "over EventStoreDB the product API answers its mutations from its projection",
  ignore: !esdb,
  fn: () =>
    inTempDir(async (dir) => {
      const api = await startProductApi({
        config: loadConfig({
          PRODUCT_API_TOKEN: TOKEN,
          DATA_DIR: dir,
          EVENTSTORE_CONNECTION_STRING: esdb,
        }, { dev: false }),
        logger: silentLogger,
        hostname: "127.0.0.1",
        port: 0,
      });
      try {
        const name = `Plan ${crypto.randomUUID()}`;
        const { createPlan } = await post(
          api,
          `mutation { createPlan(input: { name: "${name}" }) { id name version } }`,
        );
        assert.deepEqual({ name: createPlan.name, version: createPlan.version }, {
          name,
          version: 0,
        });
        const { plan } = await post(api, `{ plan(id: "${createPlan.id}") { name } }`);
        assert.equal(plan.name, name);
      } finally {
        await api.close();
      }
    }),
});

Deno.test("/metrics reads no events per scrape and says whether the read model is caught up", () =>
  inTempDir(async (dir) => {
    const inner = sqliteEventStore(`${dir}/events.sqlite`);
    let eventsRead = 0;
    const store: EventStore = {
      ...inner,
      readAll: async <E extends DomainEvent>(options?: { after?: number; limit?: number }) => {
        const events = await inner.readAll<E>(options);
        eventsRead += events.length;
        return events;
      },
      readStream: async <E extends DomainEvent>(streamId: string) => {
        const events = await inner.readStream<E>(streamId);
        eventsRead += events.length;
        return events;
      },
    };
    const createPlan = async (name: string) => {
      const planId = crypto.randomUUID();
      await handleCommand(inner, planDecider, planStream(planId), {
        type: "CreatePlan",
        data: { planId, at: new Date().toISOString(), name, description: null, iconUrl: null },
      }, {
        metadata: { correlationId: "c", causationId: "c", cause: { kind: "system", reason: "t" } },
        newEventId: () => crypto.randomUUID(),
      });
    };
    // A backlog the projector folds before it is live, so the store holds many events.
    for (let i = 0; i < 300; i++) await createPlan(`Plan ${i}`);
    const api = await start(dir, { store });
    try {
      const metrics = async () =>
        await (await fetch(api.url.replace("/graphql", "/metrics"))).text();
      await until(
        "projection_caught_up 1",
        async () => /projection_caught_up 1/.test(await metrics()),
      );
      const before = eventsRead;
      for (let i = 0; i < 5; i++) {
        const text = await metrics();
        assert.match(text, /projection_lag_events 0/);
        assert.match(text, /projection_caught_up 1/);
      }
      assert.equal(eventsRead - before, 0, "a scrape read events");

      await api.projector.stop();
      await createPlan("after the stop");
      assert.match(await metrics(), /projection_caught_up 0/);
      const ready = await fetch(api.url.replace("/graphql", "/readyz"));
      assert.equal(ready.status, 503);
      assert.equal((await ready.json()).checks.readModel, "stopped");
    } finally {
      await api.close();
      await inner.close();
    }
  }));

Deno.test("a product API whose projection fails for good exits 1, to be restarted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "product_api_" });
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", MAIN],
      env: {
        PRODUCT_API_TOKEN: TOKEN,
        DATA_DIR: dir,
        PRODUCT_API_PORT: "0",
        // Nothing listens there: the projection cannot read its checkpoint.
        EVENTSTORE_CONNECTION_STRING: "esdb://127.0.0.1:9?tls=false",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 1);
    assert.match(new TextDecoder().decode(run.stderr), /"cannot go on, exiting to be restarted"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
