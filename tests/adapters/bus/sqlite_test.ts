// The bus contract against the in-process bus on a SQLite file.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { sqliteBus } from "../../../adapters/bus/sqlite.ts";
import { busContract } from "./bus_contract.ts";
import { busOperatorsContract } from "./bus_contract_operators.ts";
import { busWindowContract } from "./bus_contract_window.ts";

const setup = async () => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-bus-" });
  const path = `${dir}/data/bus.sqlite`;
  return {
    open: () => sqliteBus({ path, pollMs: 20 }),
    backend: { kind: "sqlite" as const, path },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
};
busContract("sqlite bus", setup, false);
busWindowContract("sqlite bus", setup, false);
busOperatorsContract("sqlite bus", setup, false);

Deno.test("sqliteBus() refuses a file that is not a bus, and leaves it unchanged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nudges-bus-" });
  try {
    const path = `${dir}/events.sqlite`;
    const other = new DatabaseSync(path);
    other.exec("CREATE TABLE events (id INTEGER PRIMARY KEY); PRAGMA application_id = 42;");
    other.close();
    const before = await Deno.readFile(path);
    assert.throws(() => sqliteBus({ path }), /events\.sqlite is not a Nudges bus file/);
    assert.deepEqual(await Deno.readFile(path), before);
    const text = `${dir}/notes.txt`;
    await Deno.writeTextFile(text, "not a database at all, just some notes");
    assert.throws(() => sqliteBus({ path: text }), /notes\.txt is not a Nudges bus file/);
    assert.equal(await Deno.readTextFile(text), "not a database at all, just some notes");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
