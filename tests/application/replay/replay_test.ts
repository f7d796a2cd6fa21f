// The pure parts of replay: options, progress, stream folds, the rebuild and the drift
// comparison. The CLI as a whole is tested in tests/apps/replay/main_test.ts.
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { sequentialIds, steppingClock } from "../../support/clocks.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { RecordedEvent } from "../../../application/ports/event_store.ts";
import type { ReadView } from "../../../application/ports/read_model.ts";
import { emptyView } from "../../../application/projections/overlay.ts";
import { parseReplayOptions, UsageError } from "../../../application/replay/options.ts";
import { progressReporter } from "../../../application/replay/progress.ts";
import { rebuild } from "../../../application/replay/rebuild.ts";
import { streamHistory } from "../../../application/replay/streams.ts";
import { compareViews, DOCUMENT } from "../../../application/replay/verify.ts";
import { planDecider } from "../../../domain/plan.ts";

Deno.test("parseReplayOptions() takes --name=value and --name value alike", () => {
  const options = parseReplayOptions(["--stream=plan-1", "--as-of", "2025-01-15T10:00:00.5Z"]);
  assert.equal(options.mode, "stream");
  assert.equal(options.streamId, "plan-1");
  assert.equal(options.asOf, Date.parse("2025-01-15T10:00:00.500Z"));
  assert.equal(parseReplayOptions(["--verify", "--json"]).mode, "verify");
  assert.equal(parseReplayOptions([]).mode, "rebuild");
});

Deno.test("parseReplayOptions() refuses an option given twice or a flag with a value", () => {
  assert.throws(() => parseReplayOptions(["--stream", "a", "--stream", "b"]), /given twice/);
  assert.throws(() => parseReplayOptions(["--json=yes"]), /--json takes no value/);
  assert.throws(() => parseReplayOptions(["--stream", "--json"]), /--stream needs a value/);
  assert.throws(() => parseReplayOptions(["--as-of", "2025-02-30T10:00:00Z"]), UsageError);
});

const sink = (isTerminal: boolean) => {
  const written: string[] = [];
  let now = 0;
  return {
    written,
    tick: (ms: number) => now += ms,
    sink: { write: (text: string) => written.push(text), isTerminal, now: () => now },
  };
};

Deno.test("progressReporter() writes a line at each quarter when stderr is no terminal", () => {
  const s = sink(false);
  const progress = progressReporter(s.sink, 1000);
  for (let read = 100; read <= 1000; read += 100) {
    s.tick(1000);
    progress.update(read);
  }
  progress.finish(1000);
  assert.deepEqual(s.written, [
    "replay: 300 / 1,000 events (30%), 100 events/s\n",
    "replay: 500 / 1,000 events (50%), 100 events/s\n",
    "replay: 800 / 1,000 events (80%), 100 events/s\n",
    "replay: 1,000 / 1,000 events (100%), 100 events/s\n",
  ]);
});

Deno.test("progressReporter() redraws one bar in place on a terminal, at most every 100 ms", () => {
  const s = sink(true);
  const progress = progressReporter(s.sink, 200);
  s.tick(500);
  progress.update(100);
  s.tick(50);
  progress.update(150); // too soon after the last redraw: skipped
  s.tick(450);
  progress.finish(200);
  assert.equal(s.written.length, 3);
  assert.equal(
    s.written[0],
    `\r\x1b[2K[${"#".repeat(15)}${"-".repeat(15)}] 100 / 200 events (50%), 200 events/s`,
  );
  assert.equal(s.written[1], `\r\x1b[2K[${"#".repeat(30)}] 200 / 200 events (100%), 200 events/s`);
  assert.equal(s.written[2], "\n");
});

const recorded = (streamId: string, revision: number, type: string, data: unknown, at: string) =>
  ({
    streamId,
    revision,
    position: revision + 1,
    type,
    data,
    metadata: {
      eventId: `e${revision}`,
      correlationId: "c",
      causationId: "c",
      cause: { kind: "system", reason: "test" },
    },
    recordedAt: at,
  }) satisfies RecordedEvent;

Deno.test("streamHistory() folds up to --as-of, comparing instants, not texts", () => {
  const events = [
    recorded("client-1", 0, "ClientCreated", {
      clientId: "1",
      at: "t",
      name: "Ada",
      email: "a@b.co",
    }, "2025-01-15T10:00:00.000Z"),
    recorded("client-1", 1, "StripeCustomerLinked", {
      clientId: "1",
      at: "t",
      stripeCustomerId: "cus_1",
    }, "2025-01-15T10:00:00.001Z"),
  ];
  const then = streamHistory("client-1", events, Date.parse("2025-01-15T11:00:00+01:00"));
  assert.equal(then.steps.length, 1);
  assert.equal((then.state as { stripeCustomerId: string | null }).stripeCustomerId, null);
  const now = streamHistory("client-1", events);
  assert.equal((now.state as { stripeCustomerId: string | null }).stripeCustomerId, "cus_1");
  assert.equal((now.steps[0]!.state as { syncStatus: string }).syncStatus, "PENDING");
});

const createPlans = async (count: number) => {
  const store = memoryEventStore(steppingClock("2025-01-15T10:00:00.000Z", 60_000));
  for (let i = 0; i < count; i++) {
    await handleCommand(store, planDecider, `plan-p${i}`, {
      type: "CreatePlan",
      data: {
        planId: `p${i}`,
        at: "2025-01-15T10:00:00.000Z",
        name: `Plan ${i}`,
        description: null,
        iconUrl: null,
      },
    }, {
      metadata: { correlationId: "c", causationId: "c", cause: { kind: "system", reason: "test" } },
      newEventId: sequentialIds(`p${i}`),
    });
  }
  return store;
};

Deno.test("rebuild() reads page by page and stops at upTo", async () => {
  const store = await createPlans(5);
  const pages: number[] = [];
  const rebuilt = await rebuild(store, {
    pageSize: 2,
    upTo: 3,
    onProgress: (p) => pages.push(p.read),
  });
  assert.deepEqual([rebuilt.counts.plans, rebuilt.events, rebuilt.streams, rebuilt.position], [
    3,
    3,
    3,
    3,
  ]);
  assert.deepEqual(pages, [2, 3]);
  assert.deepEqual((await rebuild(store, { pageSize: 2 })).counts.plans, 5);
  await store.close();
});

Deno.test("rebuild() with asOf reads every event but folds only those recorded by then", async () => {
  const store = await createPlans(4);
  const rebuilt = await rebuild(store, { asOf: Date.parse("2025-01-15T10:01:00Z") });
  assert.deepEqual([rebuilt.read, rebuilt.events, rebuilt.counts.plans, rebuilt.position], [
    4,
    2,
    2,
    2,
  ]);
  assert.equal(rebuilt.view.get("plans", "p1")?.name, "Plan 1");
  assert.equal(rebuilt.view.get("plans", "p2"), null);
  await store.close();
});

const viewOf = (plans: Record<string, unknown>[]): ReadView => ({
  ...emptyView,
  list: ((collection: string) => collection === "plans" ? plans : []) as ReadView["list"],
});

Deno.test("compareViews() ignores key order and names each differing field and missing document", () => {
  const stored = viewOf([
    { id: "a", name: "A", version: 1 },
    { id: "b", name: "B", extra: true },
    { id: "gone", name: "G" },
  ]);
  const rebuilt = viewOf([
    { version: 1, name: "A", id: "a" },
    { id: "b", name: "B2" },
  ]);
  assert.deepEqual(compareViews(stored, rebuilt), [
    { collection: "plans", id: "b", field: "extra", stored: true, rebuilt: undefined },
    { collection: "plans", id: "b", field: "name", stored: "B", rebuilt: "B2" },
    {
      collection: "plans",
      id: "gone",
      field: DOCUMENT,
      stored: { id: "gone", name: "G" },
      rebuilt: undefined,
    },
  ]);
});
