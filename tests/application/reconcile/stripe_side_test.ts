import assert from "node:assert/strict";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { listAll } from "../../../application/reconcile/stripe_side.ts";
import { startStripeStandIn } from "../../support/stripe_stand_in.ts";
import shapes from "../../support/fixtures/stripe_objects.json" with { type: "json" };

const NOW = Math.floor(Date.now() / 1000);

const withProducts = async (
  count: number,
  createdOf: (i: number) => number,
  test: (ids: string[], standIn: ReturnType<typeof startStripeStandIn>) => Promise<void>,
) => {
  const standIn = startStripeStandIn({ latencyMs: 20 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `prod_${String(i).padStart(5, "0")}`;
      standIn.products.set(id, { ...shapes.product, id, created: createdOf(i) });
      ids.push(id);
    }
    await test(ids, standIn);
  } finally {
    await standIn.close();
  }
};

Deno.test("listAll() reads a list by several cursors at once, cut by creation time, and gets every object once", () =>
  withProducts(1050, (i) => NOW - (1050 - i) * 3600, async (ids, standIn) => {
    const reader = stripeSdkApi({ apiKey: "sk_test_slices", apiBase: standIn.url });
    let inFlight = 0;
    let most = 0;
    let read = 0;
    const counting = {
      ...reader,
      listPage: async (...args: Parameters<typeof reader.listPage>) => {
        most = Math.max(most, ++inFlight);
        try {
          const page = await reader.listPage(...args);
          read += page.data.length;
          return page;
        } finally {
          inFlight--;
        }
      },
    };
    const { objects } = await listAll(counting, "products");
    assert.equal(objects.length, ids.length);
    assert.deepEqual(objects.map((o) => o.id).sort(), ids);
    assert.ok(most > 1, `at most ${most} page(s) were read at once`);
    assert.equal(read, ids.length, "no object is read twice");
  }));

Deno.test("listAll() gets every object of a list made within one second, where time cannot cut it", () =>
  withProducts(250, () => NOW - 60, async (ids, standIn) => {
    const reader = stripeSdkApi({ apiKey: "sk_test_slices", apiBase: standIn.url });
    const { objects } = await listAll(reader, "products");
    assert.deepEqual(objects.map((o) => o.id).sort(), ids);
    // Three pages, and one look per free cursor (8 a list) at what was made before that
    // second: nothing.
    assert.ok(standIn.requests.length <= 3 + 8, `${standIn.requests.length} requests`);
  }));
