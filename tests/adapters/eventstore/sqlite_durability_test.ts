// A durable append, and so a webhook's 200, comes only after the SQLite event store synced
// its commit to disk (synchronous=FULL for that transaction), so that a power loss cannot drop
// it; other appends and checkpoints do not wait for a sync (docs/architecture.md says why). A
// power loss cannot be staged here, so the test watches the syncs themselves: a child process
// (tests/support/durable_writes_process.ts) writes in phases under strace, which records every
// fsync/fdatasync. Skipped where strace cannot trace.
import assert from "node:assert/strict";

const CHILD = new URL("../../support/durable_writes_process.ts", import.meta.url).pathname;

const canTrace = await new Deno.Command("strace", {
  args: ["-f", "-e", "trace=none", "true"],
  stdout: "null",
  stderr: "null",
}).output().then((out) => out.success, () => false);
if (!canTrace) console.log("sqlite_durability_test.ts: skipped: strace cannot trace here");

/** Syncs made in each phase the child announced, by phase name. */
const syncsByPhase = (trace: string): Map<string, number> => {
  const counts = new Map<string, number>();
  let current = "(start)";
  for (const line of trace.split("\n")) {
    const marker = line.match(/write\(2, "@@phase ([^\\"]+)/);
    if (marker) {
      current = marker[1]!;
      counts.set(current, 0);
    } else if (/\b(fsync|fdatasync)\(/.test(line)) {
      counts.set(current, (counts.get(current) ?? 0) + 1);
    }
  }
  return counts;
};

for (const mode of ["own connection", "writer"] as const) {
  Deno.test({
    name: `durable appends and a webhook's 200 wait for a sync to disk; other writes do not (${
      mode === "writer" ? "through a writer thread" : "on the store's own connection"
    })`,
    ignore: !canTrace,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "durable_" });
      try {
        const trace = `${dir}/strace.txt`;
        const out = await new Deno.Command("strace", {
          args: [
            "-f",
            "-e",
            "trace=fsync,fdatasync,write",
            "-s",
            "64",
            "-o",
            trace,
            Deno.execPath(),
            "run",
            "-A",
            CHILD,
            dir,
            ...mode === "writer" ? ["writer"] : [],
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        const syncs = syncsByPhase(await Deno.readTextFile(trace));
        assert.ok(syncs.has("answered 200"), `phases: ${[...syncs.keys()]}`);
        const durable = syncs.get("durable appends")!;
        assert.ok(durable >= 5, `5 durable appends one after another, ${durable} syncs`);
        assert.ok(syncs.get("durable appends made together")! >= 1, "appends made together");
        assert.ok(syncs.get("webhook")! >= 1, "the 200 came before any sync of its event");
        assert.equal(syncs.get("appends"), 0, "a plain append waits for no sync");
        assert.equal(syncs.get("checkpoints"), 0, "checkpoints wait for no sync");
        assert.equal(syncs.get("answered 200"), 0, "plain appends after durable ones sync nothing");
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
