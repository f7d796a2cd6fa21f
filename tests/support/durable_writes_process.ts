// Run by tests/adapters/eventstore/sqlite_durability_test.ts under strace: writes to a SQLite
// event store in phases, each phase announced on stderr as "@@phase <name>", so the test can
// count the fsync/fdatasync calls each phase made.
//   deno run -A tests/support/durable_writes_process.ts <dir> [writer]
// With "writer", the store writes through a writer thread, as `deno task dev`'s do.
import { join } from "node:path";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { startSqliteWriter } from "../../adapters/eventstore/sqlite_writer.ts";
import { webhookHandler } from "../../adapters/http/webhooks.ts";
import { systemEvent } from "./new_events.ts";
import { silentLogger } from "../../application/ports/logger.ts";
import { API_KEY, NOW, product, SECRET, signedRequest, stripeEvent } from "./webhook_fixtures.ts";

const phase = (name: string) =>
  Deno.stderr.writeSync(new TextEncoder().encode(`@@phase ${name}\n`));

const event = (n: number) => systemEvent("Happened", { n }, "durability test");

const path = join(Deno.args[0]!, "events.sqlite");
const writer = Deno.args[1] === "writer" ? await startSqliteWriter(path) : null;
const store = sqliteEventStore(path, writer ? { writer: writer.connect() } : {});
const handle = webhookHandler({
  store,
  secret: SECRET,
  apiKey: API_KEY,
  clock: () => NOW,
  logger: silentLogger,
});
// Opening and the first write settle the file (WAL set up): not counted.
await store.append("warm-up", [event(0)], "noStream");

phase("appends");
for (let n = 1; n <= 5; n++) await store.append(`stream-${n}`, [event(n)], "noStream");
phase("durable appends");
for (let n = 6; n <= 10; n++) {
  await store.append(`stream-${n}`, [event(n)], "noStream", { durable: true });
}
phase("durable appends made together");
await Promise.all(
  [11, 12, 13, 14].map((n) =>
    store.append(`stream-${n}`, [event(n)], "noStream", { durable: n % 2 === 0 })
  ),
);
phase("checkpoints");
for (let n = 1; n <= 5; n++) await store.storeCheckpoint("subscriber", n);
phase("webhook");
const response = await handle(
  await signedRequest(stripeEvent("product.created", product({ id: "prod_durable" }))),
);
phase(`answered ${response.status}`);
for (let n = 15; n <= 17; n++) await store.append(`stream-${n}`, [event(n)], "noStream");
phase("end");
await store.close();
await writer?.close();
