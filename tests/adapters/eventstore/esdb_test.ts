// The event store contract against a running EventStoreDB/KurrentDB, when one is given.
// The adapter module is imported only then, so this file loads without it.
import type { EventStore } from "../../../application/ports/event_store.ts";
import { eventStoreContract } from "./event_store_contract.ts";

const connectionString = Deno.env.get("EVENTSTORE_CONNECTION_STRING");
if (!connectionString) {
  console.log(
    "esdb_test.ts: skipped the EventStoreDB contract tests: EVENTSTORE_CONNECTION_STRING is not set",
  );
}

eventStoreContract("esdbEventStore", async () => {
  const { esdbEventStore } = await import("../../../adapters/eventstore/esdb.ts");
  return { open: (): EventStore | Promise<EventStore> => esdbEventStore(connectionString!) };
}, { ignore: !connectionString });
