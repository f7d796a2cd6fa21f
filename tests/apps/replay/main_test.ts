// `deno task replay` as an auditor runs it: a subprocess with the task's permissions over a
// DATA_DIR seeded through the real command handler.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { sqliteReadModel } from "../../../adapters/readmodel/sqlite.ts";
import { appendLater, IDS, minute, readModelFile, seed } from "./seed.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

type Run = { code: number; stdout: string; stderr: string };

const replay = async (dataDir: string, ...args: string[]): Promise<Run> => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-env=DATA_DIR,EVENTSTORE_CONNECTION_STRING",
      `--allow-read=${dataDir}`,
      `--allow-write=${dataDir}`,
      "apps/replay/main.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { DATA_DIR: dataDir, NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
};

/** A fresh DATA_DIR for `body`, seeded unless `seeded` is false, removed afterwards. */
const withDataDir = async (
  body: (dir: string) => Promise<void>,
  { seeded = true, ports = [4000] } = {},
) => {
  const dir = await Deno.makeTempDir({ prefix: "replay_test_" });
  try {
    if (seeded) await seed(dir, { ports });
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

const ok = (run: Run) => assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`);

Deno.test("replay rebuilds every projection and prints the counts", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir);
    ok(run);
    assert.match(run.stdout, /plans\s+2\s+\(1 deleted\)/);
    assert.match(run.stdout, /price tiers\s+1\s+\(0 archived\)/);
    assert.match(run.stdout, /clients\s+1\n/);
    assert.match(run.stdout, /plan subscriptions\s+1\n/);
    assert.match(run.stdout, /payment confirmations\s+1\n/);
    assert.match(run.stdout, /events\s+12\n/);
    assert.match(run.stdout, /streams\s+7\n/);
    // Not a terminal: plain progress lines, no bar redrawn with carriage returns.
    assert.match(run.stderr, /^replay: 12 \/ 12 events \(100%\), [\d,]+ events\/s$/m);
    assert.doesNotMatch(run.stderr, /\r/);
  });
});

Deno.test("replay --json prints the counts for tools", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--json");
    ok(run);
    const counts = JSON.parse(run.stdout);
    assert.deepEqual(
      [
        counts.plans,
        counts.priceTiers,
        counts.clients,
        counts.planSubscriptions,
        counts.paymentConfirmations,
        counts.events,
        counts.streams,
      ],
      [2, 1, 1, 1, 1, 12, 7],
    );
    assert.deepEqual(counts.deleted, { plans: 1, priceTiers: 0 });
  });
});

Deno.test("replay --as-of rebuilds the projections as they stood then", async () => {
  await withDataDir(async (dir) => {
    // minute(5) is the Legacy plan's deletion: the client and the checkout come later.
    const run = await replay(dir, "--as-of", minute(5), "--json");
    ok(run);
    const counts = JSON.parse(run.stdout);
    assert.equal(counts.asOf, minute(5));
    assert.deepEqual(
      [counts.plans, counts.priceTiers, counts.clients, counts.planSubscriptions, counts.events],
      [2, 1, 0, 0, 6],
    );
    assert.deepEqual(counts.deleted, { plans: 1, priceTiers: 0 });
    const before = JSON.parse(
      (await replay(dir, "--as-of", "2025-01-15T11:03:59+01:00", "--json")).stdout,
    );
    assert.deepEqual([before.plans, before.deleted.plans, before.events], [1, 0, 4]);
  });
});

Deno.test("replay --stream prints each event with its metadata and the state after it", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--stream", `plan-${IDS.plan}`);
    ok(run);
    assert.match(run.stdout, /^Stream plan-1{8}-.* \(plan\): 4 events$/m);
    assert.match(run.stdout, new RegExp(`^#0 PlanCreated  recorded ${minute(0)}`, "m"));
    assert.match(run.stdout, new RegExp(`^#3 PlanUpdated  recorded ${minute(11)}`, "m"));
    assert.match(run.stdout, /cause {8}GraphQL request req-2 \(updatePlan\)/);
    assert.match(run.stdout, /cause {8}bus message nudges\.plans\[0\]@7/);
    assert.match(run.stdout, /correlation {2}req-2\n {4}causation {4}req-2/);
    assert.match(run.stdout, /data {9}\{"planId":"1{8}-.*","changes":\{"name":"Pro"\}\}/);
    const states = [...run.stdout.matchAll(/"name": "(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(states, ["Basic", "Pro", "Pro", "Pro"]);
    assert.match(run.stdout, /"stripeProductId": "prod_replay"/);
  });
});

Deno.test("replay --stream --json gives the events, metadata and states as data", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--stream", `client-${IDS.client}`, "--json");
    ok(run);
    const history = JSON.parse(run.stdout);
    assert.equal(history.aggregate, "client");
    assert.deepEqual(history.events.map((e: { type: string }) => e.type), [
      "ClientCreated",
      "StripeCustomerLinked",
    ]);
    const [created, linked] = history.events;
    assert.equal(created.recordedAt, minute(6));
    assert.deepEqual(created.metadata.cause, {
      kind: "graphql",
      requestId: "req-6",
      operation: "createClient",
    });
    assert.equal(linked.metadata.correlationId, "req-6");
    assert.equal(created.stateAfter.stripeCustomerId, null);
    assert.equal(linked.stateAfter.stripeCustomerId, "cus_replay");
    assert.equal(history.state.syncStatus, "SYNCED");
  });
});

Deno.test("replay --stream --as-of shows the stream and its state as they stood then", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--stream", `plan-${IDS.plan}`, "--as-of", minute(1), "--json");
    ok(run);
    const history = JSON.parse(run.stdout);
    assert.deepEqual(history.events.map((e: { revision: number }) => e.revision), [0, 1]);
    assert.equal(history.state.name, "Pro");
    assert.equal(history.state.stripeProductId, null);
    assert.equal(history.state.description, "For small teams");
  });
});

Deno.test("replay --stream lists a Stripe event's stream without folding it", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--stream", `stripeEvent-${IDS.stripeEvent}`);
    ok(run);
    assert.match(run.stdout, /\(not an aggregate: events only\): 1 event$/m);
    assert.match(run.stdout, /#0 StripeWebhookReceived/);
    assert.match(run.stdout, /cause {8}Stripe event evt_replay_1 \(product\.updated\)/);
    assert.doesNotMatch(run.stdout, /state after/);
  });
});

Deno.test("replay --stream of a stream the store lacks says so and exits 1", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--stream", "plan-nope");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the event store has no stream plan-nope/);
    assert.equal(run.stdout, "");
  });
});

Deno.test("replay --verify finds no drift in the projections the product API stored", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--verify");
    ok(run);
    assert.equal(
      run.stdout,
      "read_model-4000.sqlite: no drift: it matches a rebuild of 12 events up to its checkpoint 12.\n",
    );
  });
});

Deno.test("replay --verify ignores events the stored projections have not reached yet", async () => {
  await withDataDir(async (dir) => {
    await appendLater(dir);
    const run = await replay(dir, "--verify");
    ok(run);
    assert.match(run.stderr, /^replay: 12 \/ 12 events \(100%\)/m);
    const rebuilt = JSON.parse((await replay(dir, "--json")).stdout);
    assert.equal(rebuilt.events, 13);
  });
});

Deno.test("replay --verify lists every drift of a tampered read model and exits 1", async () => {
  await withDataDir(async (dir) => {
    const db = new DatabaseSync(readModelFile(dir, 4001));
    try {
      db.prepare(`UPDATE rm_plans SET doc = json_set(doc, '$.name', 'Tampered') WHERE id = ?`)
        .run(IDS.plan);
      db.prepare(`UPDATE rm_priceTiers SET doc = json_set(doc, '$.unitAmount', 1) WHERE id = ?`)
        .run(IDS.tier);
      db.prepare("DELETE FROM rm_clients WHERE id = ?").run(IDS.client);
    } finally {
      db.close();
    }
    const run = await replay(dir, "--verify");
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^read_model-4000\.sqlite: no drift/m);
    const listing = run.stdout.slice(run.stdout.indexOf("read_model-4001.sqlite"));
    assert.deepEqual(listing.split("\n"), [
      "read_model-4001.sqlite: 3 drifts from a rebuild of 12 events up to its checkpoint 12:",
      `  plans ${IDS.plan} name: stored "Tampered", rebuilt "Pro"`,
      `  priceTiers ${IDS.tier} unitAmount: stored 1, rebuilt 1900`,
      `  clients ${IDS.client}: stored (missing), rebuilt present`,
      "",
    ]);

    const json = await replay(dir, "--verify", "--json");
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, false);
    const [clean, tampered] = report.readModels;
    assert.deepEqual([clean.file, clean.ok, clean.drifts], ["read_model-4000.sqlite", true, []]);
    assert.equal(tampered.file, "read_model-4001.sqlite");
    assert.deepEqual(tampered.drifts.map((d: { field: string }) => d.field), [
      "name",
      "unitAmount",
      "(document)",
    ]);
    assert.deepEqual(tampered.drifts[0], {
      collection: "plans",
      id: IDS.plan,
      field: "name",
      stored: "Tampered",
      rebuilt: "Pro",
    });
  }, { ports: [4000, 4001] });
});

Deno.test("replay --verify of a read model a running product API holds says to stop it", async () => {
  await withDataDir(async (dir) => {
    const held = sqliteReadModel(readModelFile(dir)); // locked as the product API locks it
    try {
      const run = await replay(dir, "--verify");
      assert.equal(run.code, 1);
      assert.match(run.stderr, /another process has it open/);
      assert.match(run.stderr, /stop the product API first, or point DATA_DIR at a copy/);
    } finally {
      held.close();
    }
  });
});

Deno.test("replay --verify without stored projections says where it looked", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir, "--verify");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no stored projections \(read_model-<port>\.sqlite\) in /);
  }, { ports: [] });
});

Deno.test("replay on a DATA_DIR without an event store says so and creates nothing", async () => {
  await withDataDir(async (dir) => {
    const run = await replay(dir);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no event store at .*events\.sqlite: set DATA_DIR/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }, { seeded: false });
});

for (
  const [args, message] of [
    [["--bogus"], /unknown option --bogus/],
    [["--stream"], /--stream needs a value/],
    [["--as-of", "yesterday"], /--as-of needs an ISO 8601 time with a zone/],
    [["--as-of", "2025-01-15T10:00:00"], /--as-of needs an ISO 8601 time with a zone/],
    [["--verify", "--stream", "plan-x"], /cannot be combined with --stream/],
    [["--verify", "--as-of", "2025-01-15T10:00:00Z"], /cannot be combined with --as-of/],
    [["plan-x"], /unexpected argument "plan-x"/],
  ] as const
) {
  Deno.test(`replay ${args.join(" ")} prints the usage and exits 2`, async () => {
    await withDataDir(async (dir) => {
      const run = await replay(dir, ...args);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Usage: deno task replay/);
      assert.equal(run.stdout, "");
    }, { seeded: false });
  });
}

Deno.test("replay --help prints the usage on stdout", async () => {
  const run = await replay(Deno.cwd(), "--help");
  ok(run);
  assert.match(run.stdout, /--verify/);
});
