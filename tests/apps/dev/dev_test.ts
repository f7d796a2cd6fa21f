// `deno task dev` end to end, the way a user runs it: a fresh DATA_DIR, the whole loop over
// HTTP and WebSocket, Ctrl-C, a start again on the same DATA_DIR. Once on the embedded
// Stripe simulator, once with STRIPE_API_KEY at a Stripe stand-in that records its calls.
import assert from "node:assert/strict";
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";
import { checkoutSession, signedRequest, stripeEvent } from "../../support/webhook_fixtures.ts";
import {
  type DevRun,
  eventually,
  graphql,
  planUpdates,
  runTask,
  startDevTask,
} from "./dev_process.ts";
import { freePort } from "../../support/process.ts";

const inTempDir = async (body: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "dev_test_" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

const ports = () => ({
  PRODUCT_API_PORT: String(freePort()),
  WEBHOOKS_PORT: String(freePort()),
  KAFKA_CONSUMER_PORT: String(freePort()),
});

/** Runs `body` on a started dev process and stops it with SIGINT; it must exit cleanly. */
const running = async <T>(env: Record<string, string>, body: (dev: DevRun) => Promise<T>) => {
  const dev = await startDevTask(env);
  let result: T;
  try {
    result = await body(dev);
  } finally {
    const status = await dev.stop();
    assert.equal(status.code, 0, `deno task dev did not stop cleanly:\n${dev.log.join("\n")}`);
  }
  return result;
};

/** createPlan, then onPlanUpdated over graphql-ws until the plan carries its Stripe product. */
const createLinkedPlan = async (dev: DevRun, token: string, name: string) => {
  const updates = await planUpdates(dev.graphql, token);
  try {
    const { createPlan } = await graphql<{ createPlan: { id: string; syncStatus: string } }>(
      dev.graphql,
      token,
      `mutation ($name: String!) { createPlan(input: { name: $name }) { id syncStatus } }`,
      { name },
    );
    assert.equal(createPlan.syncStatus, "PENDING");
    const linked = await updates.next((p) => p.id === createPlan.id && p.stripeProductId !== null);
    assert.match(linked.stripeProductId!, /^prod_/);
    return linked;
  } finally {
    await updates.dispose();
  }
};

const createLinkedTier = async (dev: DevRun, token: string, planId: string) => {
  const { createPriceTier } = await graphql<{ createPriceTier: { id: string } }>(
    dev.graphql,
    token,
    `mutation ($planId: ID!) {
      createPriceTier(input: {
        planId: $planId, name: "Monthly", unitAmount: 1900, currency: "usd", interval: MONTH
      }) { id }
    }`,
    { planId },
  );
  const { priceTier } = await eventually(
    "the price tier's Stripe price",
    () =>
      graphql<{ priceTier: { id: string; stripePriceId: string | null } }>(
        dev.graphql,
        token,
        `query ($id: ID!) { priceTier(id: $id) { id stripePriceId } }`,
        { id: createPriceTier.id },
      ),
    (data) => data.priceTier.stripePriceId !== null,
  );
  return priceTier as { id: string; stripePriceId: string };
};

const createLinkedClient = async (dev: DevRun, token: string) => {
  const { createClient } = await graphql<{ createClient: { id: string } }>(
    dev.graphql,
    token,
    `mutation { createClient(input: { name: "Ada Lovelace", email: "ada@example.com" }) { id } }`,
  );
  const { client } = await eventually(
    "the client's Stripe customer",
    () =>
      graphql<{ client: { id: string; stripeCustomerId: string | null } }>(
        dev.graphql,
        token,
        `query ($id: ID!) { client(id: $id) { id stripeCustomerId } }`,
        { id: createClient.id },
      ),
    (data) => data.client.stripeCustomerId !== null,
  );
  return client as { id: string; stripeCustomerId: string };
};

const SUBSCRIPTIONS = `query ($clientId: ID) {
  planSubscriptions(clientId: $clientId) {
    clientId planId priceTierId status stripeCustomerId
    paymentConfirmation { clientId planId amountTotal currency paymentStatus }
  }
}`;

/** Everything a user sees of the catalog, the clients and their subscriptions. */
const snapshot = (dev: DevRun, token: string) =>
  graphql(
    dev.graphql,
    token,
    `{
      plans(includeInactive: true) {
        id name stripeProductId syncStatus
        priceTiers { id stripePriceId syncStatus unitAmount }
      }
      clients { id stripeCustomerId syncStatus subscriptions { id status } }
      planSubscriptions { id status stripeSubscriptionId }
      paymentConfirmations { id stripeCheckoutSessionId paymentStatus }
    }`,
  );

/** webhooks_requests_total of the webhook endpoint, by outcome. */
const webhookOutcomes = async (dev: DevRun): Promise<Record<string, number>> => {
  const text = await (await fetch(`${dev.webhooks}/metrics`)).text();
  return Object.fromEntries(
    [...text.matchAll(/^webhooks_requests_total\{outcome="(\w+)"\} (\d+)$/gm)]
      .map((m) => [m[1]!, Number(m[2])]),
  );
};

const ids = (objects: Iterable<Record<string, unknown>>, key: string) =>
  [...objects].map((o) => (o.metadata as Record<string, string>)[key]).sort();

const KAFKA_BROKERS = Deno.env.get("KAFKA_BROKERS");
if (!KAFKA_BROKERS) {
  console.log("dev_test.ts: the loop over Kafka skipped, KAFKA_BROKERS is not set");
}

/** The seed's sequence and a checkout on the simulator, Ctrl-C, twice started again. */
const simulatorLoop = (engines: Record<string, string>) => () =>
  inTempDir(async (dataDir) => {
    const env = { DATA_DIR: dataDir, ...engines, ...ports() };
    const first = await running(env, async (dev) => {
      assert.deepEqual(Object.keys(dev.madeUp).sort(), [
        "PRODUCT_API_TOKEN",
        "STRIPE_WEBHOOKS_SECRET",
        "WEBHOOKS_API_KEY",
      ]);
      assert.ok(dev.stripeSimulator, dev.banner);
      assert.ok(
        dev.banner.includes(`?code=${dev.madeUp.WEBHOOKS_API_KEY}`),
        "the banner shows the webhook URL with its code",
      );
      const token = dev.madeUp.PRODUCT_API_TOKEN!;
      const plan = await createLinkedPlan(dev, token, "Gold");
      const tier = await createLinkedTier(dev, token, plan.id);
      const client = await createLinkedClient(dev, token);

      const paid = await runTask("checkout", ["--client", client.id, "--tier", tier.id], {
        DATA_DIR: dataDir,
      });
      assert.equal(paid.code, 0, paid.stderr);
      assert.match(paid.stdout, /plan subscription \S+: active/);
      const { planSubscriptions } = await graphql<{ planSubscriptions: unknown[] }>(
        dev.graphql,
        token,
        SUBSCRIPTIONS,
        { clientId: client.id },
      );
      assert.deepEqual(planSubscriptions, [{
        clientId: client.id,
        planId: plan.id,
        priceTierId: tier.id,
        status: "active",
        stripeCustomerId: client.stripeCustomerId,
        paymentConfirmation: {
          clientId: client.id,
          planId: plan.id,
          amountTotal: 1900,
          currency: "usd",
          paymentStatus: "paid",
        },
      }]);

      // product.created, price.created and checkout.session.completed came signed, and in.
      const outcomes = await webhookOutcomes(dev);
      assert.ok((outcomes.recorded ?? 0) >= 3, JSON.stringify(outcomes));
      assert.deepEqual(
        Object.keys(outcomes).filter((o) => !["recorded", "ignored", "duplicate"].includes(o)),
        [],
      );

      const unknown = await runTask("checkout", ["--client", "no-such-client", "--tier", tier.id], {
        DATA_DIR: dataDir,
      });
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /there is no client no-such-client/);
      return { token, plan, tier, client, seen: await snapshot(dev, token) };
    });

    // The same secrets and everything as it was; a plan made just before Ctrl-C is not lost.
    const late = await running(env, async (dev) => {
      assert.deepEqual(dev.madeUp.PRODUCT_API_TOKEN, first.token);
      assert.deepEqual(await snapshot(dev, first.token), first.seen);
      const { createPlan } = await graphql<{ createPlan: { id: string } }>(
        dev.graphql,
        first.token,
        `mutation { createPlan(input: { name: "Silver" }) { id } }`,
      );
      return createPlan.id;
    });

    await running(env, async (dev) => {
      const token = first.token;
      const { plan } = await eventually(
        "the plan made before Ctrl-C, linked after the restart",
        () =>
          graphql<{ plan: { stripeProductId: string | null } }>(
            dev.graphql,
            token,
            `query ($id: ID!) { plan(id: $id) { stripeProductId } }`,
            { id: late },
          ),
        (data) => data.plan.stripeProductId !== null,
      );
      assert.match(plan.stripeProductId!, /^prod_/);
      await createLinkedPlan(dev, token, "Bronze");

      // The simulator keeps exactly one Stripe object per Nudges object.
      const list = async (path: string) => {
        const response = await fetch(`${dev.stripeSimulator}/v1/${path}?limit=100`, {
          headers: { authorization: "Bearer sk_test_dev_test" },
        });
        return (await response.json()).data as Record<string, unknown>[];
      };
      const { plans } = await graphql<{ plans: { id: string }[] }>(
        dev.graphql,
        token,
        "{ plans { id } }",
      );
      assert.equal(plans.length, 3);
      assert.deepEqual(
        ids(await list("products"), "nudges_plan_id"),
        plans.map((p) => p.id).sort(),
      );
      assert.deepEqual(ids(await list("prices"), "nudges_price_tier_id"), [first.tier.id]);
      assert.deepEqual(ids(await list("customers"), "nudges_client_id"), [first.client.id]);
    });
  });

Deno.test(
  "deno task dev runs the whole loop on the Stripe simulator, and a restart loses nothing",
  simulatorLoop({}),
);

/** stat(5) lines read by a shell: Deno lets a test read /proc only with every permission. */
const stats = async (glob: string) => {
  const script = `cat ${glob} 2>/dev/null; true`;
  const { stdout } = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" })
    .output();
  return new TextDecoder().decode(stdout).split("\n").filter((line) => line !== "").map(
    (line) => {
      // The command name, in parentheses, may hold spaces; the fields after it start at
      // field 3 (state): ppid is field 4, nice field 19.
      const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
      return {
        id: Number(line.split(" ", 1)[0]),
        ppid: Number(fields[1]),
        nice: Number(fields[16]),
      };
    },
  );
};

/** The nice value of each thread of `pid`'s child processes (Linux). */
const childThreadNices = async (pid: number) => {
  const children = (await stats("/proc/[0-9]*/stat")).filter((p) => p.ppid === pid);
  assert.notEqual(children.length, 0, `no child process of ${pid} found in /proc`);
  const threads = [];
  for (const child of children) {
    for (const thread of await stats(`/proc/${child.id}/task/*/stat`)) {
      threads.push({ main: thread.id === child.id, nice: thread.nice });
    }
  }
  return threads;
};

Deno.test({
  name: "deno task dev runs its consumers ten nice steps below its endpoint and API",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    inTempDir((dataDir) =>
      running({ DATA_DIR: dataDir, ...ports() }, async (dev) => {
        // Started as this test runs: usually at 0, but a run under `nice` starts higher.
        const [self] = await stats(`/proc/${Deno.pid}/stat`);
        const base = self!.nice;
        const lowered = Math.min(19, base + 10);
        const threads = await childThreadNices(dev.pid);
        assert.deepEqual(threads.filter((t) => t.main).map((t) => t.nice), [base]);
        assert.ok(threads.some((t) => t.nice === lowered), JSON.stringify(threads));
        assert.deepEqual(new Set(threads.map((t) => t.nice)), new Set([base, lowered]));
      })
    ),
});

Deno.test({
  name: "deno task dev with KAFKA_BROKERS runs the same loop over Kafka",
  ignore: !KAFKA_BROKERS,
  fn: simulatorLoop({ KAFKA_BROKERS: KAFKA_BROKERS ?? "" }),
});

Deno.test("deno task dev with STRIPE_API_KEY makes one Stripe object per Nudges object, across restarts", () =>
  inTempDir(async (dataDir) => {
    const standIn = startStripeStandIn();
    const secrets = {
      STRIPE_API_KEY: "sk_test_dev_stand_in_0123456789",
      PRODUCT_API_TOKEN: "dev-test-product-api-token-0123",
      WEBHOOKS_API_KEY: "dev-test-webhooks-api-key-0123",
      STRIPE_WEBHOOKS_SECRET: "whsec_dev_test_0123456789abcdef",
    };
    const env = { DATA_DIR: dataDir, STRIPE_API_BASE: standIn.url, ...secrets, ...ports() };
    const token = secrets.PRODUCT_API_TOKEN;
    try {
      const first = await running(env, async (dev) => {
        assert.equal(dev.stripeSimulator, null);
        assert.deepEqual(dev.madeUp, {});
        for (const [name, value] of Object.entries(secrets)) {
          assert.ok(!dev.banner.includes(value), `the banner shows ${name}`);
        }
        assert.ok(
          dev.banner.includes(
            `stripe listen --forward-to "localhost:${env.WEBHOOKS_PORT}/api/StripeWebhookHandler?code=<WEBHOOKS_API_KEY>"`,
          ),
          dev.banner,
        );
        const plan = await createLinkedPlan(dev, token, "Gold");
        const tier = await createLinkedTier(dev, token, plan.id);
        const client = await createLinkedClient(dev, token);

        const simulated = await runTask("checkout", ["--client", client.id, "--tier", tier.id], {
          DATA_DIR: dataDir,
        });
        assert.equal(simulated.code, 1);
        assert.match(
          simulated.stderr,
          /talks to Stripe \(STRIPE_API_KEY is set\), not the simulator/,
        );

        // What `stripe listen` forwards once a customer has paid in a Stripe Checkout.
        const session = checkoutSession({
          id: `cs_test_dev_${crypto.randomUUID().replaceAll("-", "")}`,
          client_reference_id: client.id,
          customer: client.stripeCustomerId,
          metadata: { nudges_plan_id: plan.id, nudges_price_tier_id: tier.id },
          amount_total: 1900,
          currency: "usd",
          payment_status: "paid",
        });
        const delivery = await signedRequest(
          stripeEvent("checkout.session.completed", session, {
            created: Math.floor(Date.now() / 1000),
          }),
          {
            code: secrets.WEBHOOKS_API_KEY,
            secrets: [secrets.STRIPE_WEBHOOKS_SECRET],
            timestamp: Math.floor(Date.now() / 1000),
            base: dev.webhooks,
          },
        );
        const answer = await fetch(delivery);
        await answer.body?.cancel();
        assert.equal(answer.status, 200);
        await eventually(
          "the subscription of the forwarded checkout",
          () =>
            graphql<{ planSubscriptions: { status: string }[] }>(
              dev.graphql,
              token,
              SUBSCRIPTIONS,
              { clientId: client.id },
            ),
          (data) => data.planSubscriptions[0]?.status === "active",
        );
        return { tier, client, seen: await snapshot(dev, token) };
      });

      const late = await running(env, async (dev) => {
        assert.deepEqual(await snapshot(dev, token), first.seen);
        const { createPlan } = await graphql<{ createPlan: { id: string } }>(
          dev.graphql,
          token,
          `mutation { createPlan(input: { name: "Silver" }) { id } }`,
        );
        return createPlan.id;
      });

      await running(env, async (dev) => {
        await eventually(
          "the plan made before Ctrl-C, linked after the restart",
          () =>
            graphql<{ plan: { stripeProductId: string | null } }>(
              dev.graphql,
              token,
              `query ($id: ID!) { plan(id: $id) { stripeProductId } }`,
              { id: late },
            ),
          (data) => data.plan.stripeProductId !== null,
        );
        const { plans } = await graphql<{ plans: { id: string; stripeProductId: string }[] }>(
          dev.graphql,
          token,
          "{ plans { id stripeProductId } }",
        );
        assert.equal(plans.length, 2);
        assert.deepEqual(
          ids(standIn.products.values(), "nudges_plan_id"),
          plans.map((p) => p.id).sort(),
        );
        for (const plan of plans) {
          const product = standIn.products.get(plan.stripeProductId);
          assert.equal((product?.metadata as Record<string, string>).nudges_plan_id, plan.id);
        }
        assert.deepEqual(ids(standIn.prices.values(), "nudges_price_tier_id"), [first.tier.id]);
        assert.deepEqual(ids(standIn.customers.values(), "nudges_client_id"), [first.client.id]);
        const created = standIn.requests.filter((r) =>
          r.method === "POST" && /^\/v1\/(products|prices|customers)$/.test(r.path) &&
          r.status === 200 && !r.replayed
        );
        assert.equal(created.length, 4, JSON.stringify(standIn.requests, null, 2));
      });
    } finally {
      await standIn.close();
    }
  }));
