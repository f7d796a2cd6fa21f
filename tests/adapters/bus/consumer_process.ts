// A consumer in a process of its own, for the crash and SIGTERM tests of the bus
// contract. Prints one JSON line per step; the test reads them and kills or signals it.
//   consumer_process.ts '<backend json>' <group> <topic> hang|slow <value> [concurrency]
// hang: the handler of <value> never returns (the test kills the process);
// slow: the handler of <value> takes 500 ms (the test sends SIGTERM meanwhile).
import type { Bus } from "../../../application/ports/bus.ts";
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";

export type Backend = { kind: "sqlite"; path: string } | { kind: "kafka"; brokers: string };

const [backendJson, groupId, topic, mode, target, concurrency = "1"] = Deno.args;
const backend = JSON.parse(backendJson!) as Backend;
const bus: Bus = backend.kind === "sqlite"
  ? sqliteBus({ path: backend.path })
  : kafkaBus({ brokers: backend.brokers.split(","), sessionTimeoutMs: 6000 });

const say = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

const consumer = await bus.consume({
  groupId: groupId!,
  topics: [topic!],
  concurrency: Number(concurrency),
  handler: async ({ value, offset, partition }) => {
    say({ event: "handling", value, offset, partition: String(partition) });
    if (value === target && mode === "hang") await new Promise((r) => setTimeout(r, 3_600_000));
    if (value === target && mode === "slow") await new Promise((r) => setTimeout(r, 500));
    say({ event: "handled", value, offset, partition: String(partition) });
  },
});
// As the apps do (apps/runner.ts runApp): the first SIGTERM or SIGINT stops the
// consumer, which finishes and commits the message in hand; the process then ends.
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await consumer.stop();
  await bus.close();
  say({ event: "stopped" });
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
say({ event: "consuming" });
