// An outbound consumer in a process of its own that dies on purpose, for the crash tests:
//   stripe_outbound_crash.ts <bus.sqlite> <events.sqlite> <stripe url> afterStripe|afterAppend
// afterStripe: exits the moment Stripe has answered a create, before anything is recorded;
// afterAppend: exits right after the link is appended, before the bus offset is committed.
import { sqliteBus } from "../../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { stripeSdkGateway } from "../../adapters/stripe/sdk.ts";
import { startOutbound } from "../../application/outbound/consumer.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import type { StripeGateway } from "../../application/ports/stripe_gateway.ts";

export const CRASH_EXIT_CODE = 70;

if (import.meta.main) {
  const [busPath, storePath, stripeUrl, mode] = Deno.args;
  const die = () => Deno.exit(CRASH_EXIT_CODE);
  const sdk = stripeSdkGateway({ apiKey: "sk_test_123", apiBase: stripeUrl! });
  const gateway: StripeGateway = {
    ...sdk,
    createProduct: async (product, key) => {
      const id = await sdk.createProduct(product, key);
      if (mode === "afterStripe") die();
      return id;
    },
  };
  const inner = sqliteEventStore(storePath!);
  const store: EventStore = {
    ...inner,
    append: async (stream, events, expected) => {
      const result = await inner.append(stream, events, expected);
      if (mode === "afterAppend" && events.some((e) => e.type === "StripeProductLinked")) die();
      return result;
    },
  };
  await startOutbound({
    bus: sqliteBus({ path: busPath!, pollMs: 20 }),
    deps: { store, gateway, clock: () => new Date().toISOString() },
  });
  console.log("consuming");
}
