// The outbox as a process of its own, for the webhook benchmark's Kafka run: it follows
// the webhooks app's SQLite store and publishes to the Kafka brokers given, printing a
// JSON line each time it has published everything in the store.
//   deno run -A tests/support/webhooks_outbox_process.ts <sqlite file> <brokers>
import { kafkaBus } from "../../adapters/bus/kafka.ts";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { startOutbox } from "../../application/outbox/outbox.ts";

const [path, brokers] = Deno.args;
if (!path || !brokers) throw new Error("usage: webhooks_outbox_process.ts <sqlite file> <brokers>");
const store = sqliteEventStore(path, { pollMs: 5 });
const bus = kafkaBus({ brokers: brokers.split(","), clientId: "webhooks-bench-outbox" });
const stopping = new AbortController();
const outbox = startOutbox({
  store,
  bus,
  signal: stopping.signal,
  subscriberId: `bench-${crypto.randomUUID()}`,
  onCaughtUp: (position) => console.error(JSON.stringify({ message: "caught up", position })),
});
console.error(JSON.stringify({ message: "listening", port: 0 }));
Deno.addSignalListener("SIGTERM", () => stopping.abort());
await outbox.done;
await bus.close();
await store.close();
