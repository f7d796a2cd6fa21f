import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import { createPlan, settlesWithin, TOKEN, withSocketApi } from "./harness.ts";
import { deadline, within } from "../../support/deadline.ts";

const wsUrl = (url: string) => url.replace(/^http/, "ws");

/** How long a test waits for a push before it fails: far beyond what a push takes. */
const PUSH_WITHIN_MS = 10_000;

/** Deno's WebSocket sending `authorization` on the upgrade request, as a server client may. */
const withHeader = (authorization: string) =>
  class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, { protocols: [protocols ?? []].flat(), headers: { authorization } });
    }
  };

/** A graphql-ws client on Deno's WebSocket (with the token unless told otherwise). */
const connect = (
  url: string,
  connectionParams: Record<string, unknown> = { authorization: `Bearer ${TOKEN}` },
  webSocketImpl: unknown = WebSocket,
) => {
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
  });
  const closed = new Promise<void>((resolve) => client.on("closed", () => resolve()));
  const dispose = async () => {
    await client.dispose();
    await closed;
  };
  return { client, dispose };
};

const PLAN_UPDATED = `subscription($id: ID) {
  onPlanUpdated(id: $id) { id name stripeProductId syncStatus version priceTiers { id } }
}`;

/**
 * Resolves once the subscription delivers: the server takes a subscription in on its own
 * time, so the plan is renamed until a push shows the subscription is live.
 */
const untilLive = async (
  updates: AsyncIterableIterator<unknown>,
  rename: (name: string) => Promise<unknown>,
) => {
  const first = updates.next();
  const live = deadline(PUSH_WITHIN_MS, "the subscription's first push (it never went live)");
  for (let n = 1;; n++) {
    live.check();
    await rename(`Warm-up ${n}`);
    if (await settlesWithin(first, 25)) return;
  }
};

Deno.test(
  "onPlanUpdated pushes the plan when its Stripe link lands, and nothing of other plans",
  withSocketApi(async (api, url) => {
    const plan = await createPlan(api, { name: "Gold" });
    const other = await createPlan(api, { name: "Silver" });
    const rename = (id: string, name: string) =>
      api.data(`mutation { updatePlan(input: { id: "${id}", name: "${name}" }) { id } }`);
    const { client, dispose } = connect(url);
    try {
      const updates = client.iterate<{ onPlanUpdated: Record<string, unknown> }>({
        query: PLAN_UPDATED,
        variables: { id: plan.id },
      });
      await untilLive(updates, (name) => rename(plan.id, name));
      await rename(other.id, "Silver 2");

      // The outbound consumer records the link from Stripe's answer, as this command.
      await handleCommand(api.store, planDecider, planStream(plan.id), {
        type: "LinkStripeProduct",
        data: { planId: plan.id, at: "2025-03-01T11:00:00.000Z", stripeProductId: "prod_Gold1" },
      }, {
        metadata: {
          correlationId: "c",
          causationId: "c",
          cause: { kind: "bus", topic: "nudges.plans", partition: 0, offset: "7" },
        },
        newEventId: () => crypto.randomUUID(),
      });

      let linked;
      for await (
        const { data } of within(updates, PUSH_WITHIN_MS, "the push of the linked plan")
      ) {
        assert.equal(data?.onPlanUpdated.id, plan.id, "only the plan asked for");
        if (data?.onPlanUpdated.stripeProductId) {
          linked = data.onPlanUpdated;
          break;
        }
      }
      assert.equal(linked?.stripeProductId, "prod_Gold1");
      assert.equal(linked?.syncStatus, "SYNCED");
      assert.match(String(linked?.name), /^Warm-up \d+$/);
    } finally {
      await dispose();
    }
  }),
);

Deno.test(
  "onPlanUpdated without an id pushes every plan's changes, tiers included",
  withSocketApi(async (api, url) => {
    const plan = await createPlan(api, { name: "Gold" });
    const { client, dispose } = connect(url);
    try {
      const updates = client.iterate<{ onPlanUpdated: { id: string; priceTiers: unknown[] } }>({
        query: PLAN_UPDATED,
      });
      await untilLive(
        updates,
        (name) =>
          api.data(`mutation { updatePlan(input: { id: "${plan.id}", name: "${name}" }) { id } }`),
      );
      const other = await createPlan(api, { name: "Silver" });
      await api.data(
        `mutation { createPriceTier(input: { planId: "${other.id}", unitAmount: 5, currency: "eur" }) { id } }`,
      );
      // Renames of the first plan may still be on their way; the new plan's pushes follow.
      const tierCounts: number[] = [];
      for await (
        const { data } of within(updates, PUSH_WITHIN_MS, "two pushes of the new plan")
      ) {
        const pushed = data!.onPlanUpdated;
        if (pushed.id !== other.id) continue;
        tierCounts.push(pushed.priceTiers.length);
        if (tierCounts.length === 2) break;
      }
      assert.deepEqual(tierCounts, [0, 1]);
    } finally {
      await dispose();
    }
  }),
);

Deno.test(
  "a mutation over WebSocket takes the token from connection_init, and is refused without it",
  withSocketApi(async (api, url) => {
    const mutation = { query: `mutation { createPlan(input: { name: "Gold" }) { name } }` };
    const authorized = connect(url, { authorization: `Bearer ${TOKEN}` });
    const anonymous = connect(url, {});
    try {
      const ok = await authorized.client.iterate(mutation).next();
      assert.deepEqual(ok.value, { data: { createPlan: { name: "Gold" } } });
      await assert.rejects(
        anonymous.client.iterate(mutation).next(),
        (errors: { extensions?: { code?: string } }[]) =>
          errors[0]?.extensions?.code === "UNAUTHENTICATED",
      );
      assert.equal((await api.store.readAll()).length, 1);
    } finally {
      await authorized.dispose();
      await anonymous.dispose();
    }
  }),
);

Deno.test(
  "a wrong token over WebSocket refuses every operation, from connection_init or the header",
  withSocketApi(async (api, url) => {
    const fromInit = connect(url, { authorization: "Bearer not-the-token" });
    const fromHeader = connect(url, {}, withHeader("Bearer not-the-token"));
    const isWrongToken = (errors: { message: string; extensions?: { code?: string } }[]) =>
      errors[0]?.extensions?.code === "UNAUTHENTICATED" &&
      errors[0]?.message === "the bearer token is not valid";
    try {
      for (const { client } of [fromInit, fromHeader]) {
        await assert.rejects(client.iterate({ query: "{ plans { id } }" }).next(), isWrongToken);
        await assert.rejects(
          client.iterate({ query: `mutation { createPlan(input: { name: "Gold" }) { id } }` })
            .next(),
          isWrongToken,
        );
        await assert.rejects(client.iterate({ query: PLAN_UPDATED }).next(), isWrongToken);
      }
      assert.equal((await api.store.readAll()).length, 0);
    } finally {
      await fromInit.dispose();
      await fromHeader.dispose();
    }
  }),
);

Deno.test(
  "over WebSocket every operation needs the token, from connection_init or the header",
  withSocketApi(async (api, url) => {
    await api.data(
      `mutation { createClient(input: { name: "Ada", email: "ada@example.com" }) { id } }`,
    );
    const anonymous = connect(url, {});
    const fromHeader = connect(url, {}, withHeader(`Bearer ${TOKEN}`));
    const fromInit = connect(url, { authorization: `Bearer ${TOKEN}` });
    const clients = { query: "{ clients { email } }" };
    const isMissingToken = (errors: { message: string; extensions?: { code?: string } }[]) =>
      errors[0]?.extensions?.code === "UNAUTHENTICATED" &&
      /^every operation needs an Authorization header/.test(errors[0].message);
    try {
      for (const query of ["{ plans { id } }", "{ clients { email } }", PLAN_UPDATED]) {
        await assert.rejects(anonymous.client.iterate({ query }).next(), isMissingToken, query);
      }
      for (const { client } of [fromHeader, fromInit]) {
        const ok = await client.iterate(clients).next();
        assert.deepEqual(ok.value, { data: { clients: [{ email: "ada@example.com" }] } });
      }
    } finally {
      await anonymous.dispose();
      await fromHeader.dispose();
      await fromInit.dispose();
    }
  }),
);

Deno.test(
  "over WebSocket with public reads, the catalog and onPlanUpdated go without a token; client data does not",
  withSocketApi(async (api, url) => {
    const plan = await createPlan(api, { name: "Gold" });
    const anonymous = connect(url, {});
    try {
      const plans = await anonymous.client.iterate({ query: "{ plans { name } }" }).next();
      assert.deepEqual(plans.value, { data: { plans: [{ name: "Gold" }] } });
      const refused = await anonymous.client.iterate({ query: "{ clients { email } }" }).next();
      assert.equal(refused.value?.data, null);
      assert.equal(refused.value?.errors?.[0]?.extensions?.code, "UNAUTHENTICATED");
      assert.match(String(refused.value?.errors?.[0]?.message), /^the query clients /);
      const updates = anonymous.client.iterate<{ onPlanUpdated: { id: string } }>({
        query: PLAN_UPDATED,
        variables: { id: plan.id },
      });
      await untilLive(
        updates,
        (name) =>
          api.data(`mutation { updatePlan(input: { id: "${plan.id}", name: "${name}" }) { id } }`),
      );
    } finally {
      await anonymous.dispose();
    }
  }, { publicReads: true }),
);

Deno.test(
  "a bad operation over WebSocket is an error for that operation, not for the connection",
  withSocketApi(async (_api, url) => {
    const { client, dispose } = connect(url);
    try {
      await assert.rejects(
        client.iterate({ query: "subscription { onPlanUpdated(" }).next(),
        (errors: { message: string }[]) => /Syntax Error/.test(errors[0]!.message),
      );
      const typename = await client.iterate({ query: "{ __typename }" }).next();
      assert.deepEqual(typename.value, { data: { __typename: "Query" } });
    } finally {
      await dispose();
    }
  }),
);

Deno.test(
  "a client that does not speak graphql-transport-ws is closed with 4406",
  withSocketApi(async (_api, url) => {
    const socket = new WebSocket(wsUrl(url), "graphql-ws");
    const code = await new Promise<number>((resolve) => socket.onclose = (e) => resolve(e.code));
    assert.equal(code, 4406);
  }),
);
