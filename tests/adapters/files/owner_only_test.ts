// Every data file under DATA_DIR (event store, bus, read model, simulator store, dev files)
// is readable by its owner only, the SQLite companions (-wal, -shm) included, and so are the
// folders the apps create (adapters/files/owner_only.ts).
import assert from "node:assert/strict";
import { join } from "node:path";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { openSimulatorStore } from "../../../adapters/stripe/simulator_store.ts";
import { loadDevConfig } from "../../../apps/dev/secrets.ts";
import { writeRunFile } from "../../../apps/dev/run_file.ts";

const posix = Deno.build.os !== "windows";

const event = {
  type: "Happened",
  data: {},
  metadata: {
    eventId: "e-1",
    correlationId: "c",
    causationId: "c",
    cause: { kind: "system", reason: "test" },
  },
} as const;

/** path → permission bits of everything under `root`, `root` itself included. */
const modes = (root: string): Map<string, number> => {
  const found = new Map<string, number>([[root, Deno.statSync(root).mode! & 0o777]]);
  for (const entry of Deno.readDirSync(root)) {
    const path = join(root, entry.name);
    if (entry.isDirectory) { for (const [p, m] of modes(path)) found.set(p, m); }
    else found.set(path, Deno.statSync(path).mode! & 0o777);
  }
  return found;
};

const loose = (found: Map<string, number>) =>
  [...found].filter(([path, mode]) => {
    const dir = Deno.statSync(path).isDirectory;
    return mode !== (dir ? 0o700 : 0o600);
  }).map(([path, mode]) => `${path} ${mode.toString(8)}`);

Deno.test({
  name: "the data files and folders the apps create are owner-only, -wal and -shm included",
  ignore: !posix,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "owner_only_" });
    const dataDir = join(root, "data", "nested");
    const store = sqliteEventStore(join(dataDir, "events.sqlite"));
    const bus = sqliteBus({ path: join(dataDir, "bus.sqlite") });
    const readModel = sqliteReadModel(join(dataDir, "read_model-4000.sqlite"));
    const simulator = openSimulatorStore(join(dataDir, "stripe_simulator.sqlite"));
    try {
      await store.append("plan-1", [event], "noStream");
      await bus.publish([{ topic: "nudges.plans", key: "plan-1", value: "{}" }]);
      readModel.commit([], { position: 1, eventId: "e-1", streamId: "plan-1", revision: 0 });
      simulator.write([{ kind: "product", id: "prod_1", value: { id: "prod_1" } }]);
      loadDevConfig({ DATA_DIR: dataDir });
      await writeRunFile(
        dataDir,
        {
          graphql: "http://127.0.0.1:4000/graphql",
          webhooks: "http://127.0.0.1:7071",
          consumerOps: "http://127.0.0.1:7072",
          stripeSimulator: null,
        } as Parameters<typeof writeRunFile>[1],
      );

      const found = modes(join(root, "data"));
      // The read model holds its file exclusively: SQLite keeps its WAL index in memory, no -shm.
      for (const name of ["events", "bus", "read_model-4000", "stripe_simulator"]) {
        const suffixes = name.startsWith("read_model") ? ["", "-wal"] : ["", "-wal", "-shm"];
        for (const suffix of suffixes) {
          assert.ok(found.has(join(dataDir, `${name}.sqlite${suffix}`)), `${name}${suffix}`);
        }
      }
      for (const name of ["dev_secrets.json", "dev_run.json"]) {
        assert.ok(found.has(join(dataDir, name)), `${name} is there`);
      }
      assert.deepEqual(loose(found), []);
    } finally {
      await store.close();
      await bus.close();
      readModel.close();
      simulator.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "an event store file made readable by others before is made owner-only when opened",
  ignore: !posix,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "owner_only_" });
    const path = join(dir, "events.sqlite");
    try {
      const first = sqliteEventStore(path);
      await first.append("plan-1", [event], "noStream");
      for (const file of [path, `${path}-wal`, `${path}-shm`]) Deno.chmodSync(file, 0o644);
      const second = sqliteEventStore(path);
      try {
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          assert.equal((Deno.statSync(file).mode! & 0o777).toString(8), "600", file);
        }
        assert.equal((await second.readStream("plan-1")).length, 1);
      } finally {
        await second.close();
        await first.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
