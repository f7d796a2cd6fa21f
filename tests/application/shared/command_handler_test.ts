import assert from "node:assert/strict";
import {
  aggregate,
  ConcurrencyConflict,
  conflictBackoffMs,
  handleCommand,
} from "../../../application/shared/command_handler.ts";
import {
  asRecorded,
  type EventStore,
  WrongExpectedRevision,
} from "../../../application/ports/event_store.ts";
import type { Once } from "../../../application/shared/command_handler.ts";
import { sequentialIds } from "../../support/clocks.ts";
import { conflict, type Decider, DomainError, invalid } from "../../../domain/decider.ts";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";

// A small decider of its own, so these tests follow the handler and not a domain's rules.
type TagCommand = { type: "RenameTag"; data: { name: string } } | { type: "RemoveTag" };
type TagEvent =
  | { type: "TagRenamed"; data: { name: string } }
  | { type: "TagRemoved"; data: Record<string, never> };
type Tag = { name: string | null; removed: boolean };

const tag: Decider<TagCommand, TagEvent, Tag> = {
  initialState: () => ({ name: null, removed: false }),
  decide: (command, state) => {
    if (state.removed) throw conflict("TagRemoved", "the tag is removed");
    if (command.type === "RemoveTag") return [{ type: "TagRemoved", data: {} }];
    const name = command.data.name.trim();
    if (name === "") throw invalid("TagNameEmpty", "a tag needs a name");
    return name === state.name ? [] : [{ type: "TagRenamed", data: { name } }];
  },
  evolve: (state, event) =>
    event.type === "TagRenamed" ? { ...state, name: event.data.name } : { ...state, removed: true },
};

const metadata = {
  correlationId: "request-1",
  causationId: "request-1",
  cause: { kind: "graphql", requestId: "request-1", operation: "RenameTag" },
} as const;

const rename = (name: string): TagCommand => ({ type: "RenameTag", data: { name } });

const run = (
  store: EventStore,
  command: TagCommand,
  options: { expectedRevision?: number; maxAttempts?: number; once?: Once } = {},
) =>
  handleCommand(store, tag, "tag-1", command, {
    metadata,
    newEventId: sequentialIds("event"),
    ...options,
  });

const names = async (store: EventStore) =>
  (await store.readStream("tag-1")).map((e) => (e.data as { name?: string }).name ?? e.type);

const appendByOther = (store: EventStore, name: string) =>
  store.append("tag-1", [{
    type: "TagRenamed",
    data: { name },
    metadata: { ...metadata, eventId: crypto.randomUUID() },
  }], "any");

/** A store where another writer renames the tag right after each of the first `times` reads. */
const racingStore = (names: string[]) => {
  const inner = memoryEventStore();
  let reads = 0;
  const store: EventStore = {
    ...inner,
    readStream: async (streamId) => {
      const events = await inner.readStream(streamId);
      const name = names[reads++];
      if (name !== undefined) await appendByOther(inner, name);
      return asRecorded(events);
    },
  };
  return { store, reads: () => reads };
};

Deno.test("handleCommand() appends the decided events with the command's metadata", async () => {
  const store = memoryEventStore();
  const created = await run(store, rename("  alpha "));
  assert.deepEqual(created.events, [{ type: "TagRenamed", data: { name: "alpha" } }]);
  assert.equal(created.revision, 0);
  assert.deepEqual(created.state, { name: "alpha", removed: false });

  const renamed = await run(store, rename("beta"));
  assert.equal(renamed.revision, 1);
  assert.ok(renamed.position! > created.position!);
  assert.deepEqual(renamed.state, { name: "beta", removed: false });

  const [event] = (await store.readStream("tag-1")).slice(1);
  assert.deepEqual(event!.metadata, { ...metadata, eventId: "event-1" });
  assert.deepEqual(await names(store), ["alpha", "beta"]);
});

Deno.test("handleCommand() decides on the state folded from the whole stream", async () => {
  const store = memoryEventStore();
  await run(store, rename("alpha"));
  await run(store, { type: "RemoveTag" });
  await assert.rejects(run(store, rename("beta")), (error: unknown) => {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, "TagRemoved");
    return true;
  });
  assert.deepEqual(await names(store), ["alpha", "TagRemoved"], "a refusal appends nothing");
});

Deno.test("handleCommand() appends nothing for a command that changes nothing", async () => {
  const store = memoryEventStore();
  await run(store, rename("alpha"));
  const result = await run(store, rename("alpha"));
  assert.deepEqual(result.events, []);
  assert.equal(result.revision, 0);
  assert.equal(result.position, undefined);
  assert.deepEqual(result.state, { name: "alpha", removed: false });
  assert.deepEqual(await names(store), ["alpha"]);
});

Deno.test("handleCommand() creates no stream when its first command is refused", async () => {
  const store = memoryEventStore();
  await assert.rejects(run(store, rename(" ")), DomainError);
  assert.deepEqual(await store.readStream("tag-1"), []);
});

Deno.test("handleCommand() appends a truncated stream at its last revision, not its event count", async () => {
  const store = memoryEventStore();
  for (const name of ["a", "b", "c", "d"]) await appendByOther(store, name);
  await store.truncateBefore("tag-1", 2);
  const result = await run(store, rename("e"), { maxAttempts: 1 });
  assert.equal(result.revision, 4);
  assert.deepEqual(await names(store), ["c", "d", "e"]);
  assert.equal((await run(store, rename("f"), { expectedRevision: 4 })).revision, 5);
});

Deno.test("handleCommand() retries after a concurrent append and decides again", async () => {
  const { store, reads } = racingStore(["beta"]);
  await appendByOther(store, "alpha");
  const result = await run(store, rename("gamma"));
  assert.equal(reads(), 2);
  assert.equal(result.revision, 2);
  assert.deepEqual(await names(store), ["alpha", "beta", "gamma"]);
});

Deno.test("handleCommand() becomes a no-op when a concurrent writer made the same change", async () => {
  const { store } = racingStore(["gamma"]);
  await appendByOther(store, "alpha");
  const result = await run(store, rename("gamma"));
  assert.deepEqual(result.events, []);
  assert.deepEqual(await names(store), ["alpha", "gamma"]);
});

Deno.test("handleCommand() gives up with ConcurrencyConflict after its attempts", async () => {
  for (const maxAttempts of [undefined, 5]) {
    const { store, reads } = racingStore(["b", "c", "d", "e", "f", "g"]);
    await assert.rejects(run(store, rename("mine"), { maxAttempts }), (error: unknown) => {
      assert.ok(error instanceof ConcurrencyConflict);
      assert.equal(error.streamId, "tag-1");
      assert.ok(error.conflict instanceof WrongExpectedRevision);
      return true;
    });
    assert.equal(reads(), maxAttempts ?? 3);
    assert.ok(!(await names(store)).includes("mine"), "nothing of the command was appended");
  }
});

Deno.test("handleCommand() refuses a stale expectedRevision without retrying", async () => {
  const store = memoryEventStore();
  await run(store, rename("alpha"));
  await run(store, rename("beta"));
  await assert.rejects(run(store, rename("gamma"), { expectedRevision: 0 }), ConcurrencyConflict);
  assert.deepEqual(await names(store), ["alpha", "beta"]);

  const result = await run(store, rename("gamma"), { expectedRevision: 1 });
  assert.equal(result.revision, 2);

  const { store: racing, reads } = racingStore(["other"]);
  await appendByOther(racing, "alpha");
  await assert.rejects(
    run(racing, rename("gamma"), { expectedRevision: 0 }),
    ConcurrencyConflict,
    "a concurrent append between read and append is not retried past the caller's revision",
  );
  assert.equal(reads(), 1);
  assert.deepEqual(await names(racing), ["alpha", "other"]);
});

const stripeEvent = (cause: string, step = "rename"): Once => ({
  scope: "stripeEffect",
  cause,
  step,
});

Deno.test("handleCommand() with once skips a cause it applied before, however the state moved on", async () => {
  const store = memoryEventStore();
  const first = await run(store, rename("alpha"), { once: stripeEvent("evt_1") });
  assert.equal(first.events.length, 1);
  await run(store, rename("beta"));
  // The same Stripe event again would rename the tag back to alpha: it must not.
  const again = await run(store, rename("alpha"), { once: stripeEvent("evt_1") });
  assert.deepEqual(again.events, []);
  assert.equal(again.revision, 1);
  assert.deepEqual(await names(store), ["alpha", "beta"]);
  // Another step of the same cause, or another cause, is applied.
  await run(store, rename("gamma"), { once: stripeEvent("evt_1", "other step") });
  await run(store, rename("delta"), { once: stripeEvent("evt_2") });
  assert.deepEqual(await names(store), ["alpha", "beta", "gamma", "delta"]);
});

Deno.test("handleCommand() with once gives the same event ids for the same cause on every try", async () => {
  const [a, b] = [memoryEventStore(), memoryEventStore()];
  await run(a, rename("alpha"), { once: stripeEvent("evt_1") });
  await run(b, rename("alpha"), { once: stripeEvent("evt_1") });
  const ids = async (store: EventStore) =>
    (await store.readStream("tag-1")).map((e) => e.metadata.eventId);
  assert.deepEqual(await ids(a), await ids(b));
  assert.match((await ids(a))[0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-/);
});

Deno.test("handleCommand() with once skips after a conflict when the other writer was the same cause", async () => {
  const inner = memoryEventStore();
  let raced = false;
  // Between this handler's read and its append, a redelivery of the same Stripe event wins.
  const store: EventStore = {
    ...inner,
    readStream: async (streamId) => {
      const events = await inner.readStream(streamId);
      if (!raced) {
        raced = true;
        await run(inner, rename("alpha"), { once: stripeEvent("evt_1") });
        await run(inner, rename("beta"));
      }
      return asRecorded(events);
    },
  };
  const result = await run(store, rename("alpha"), { once: stripeEvent("evt_1") });
  assert.deepEqual(result.events, []);
  assert.deepEqual(await names(inner), ["alpha", "beta"]);
});

Deno.test("conflictBackoffMs() waits a random part of an exponentially growing window", () => {
  assert.equal(conflictBackoffMs(1, () => 0), 0);
  assert.equal(conflictBackoffMs(1, () => 0.5), 5);
  assert.equal(conflictBackoffMs(3, () => 0.5), 20);
  const spread = new Set(Array.from({ length: 20 }, () => conflictBackoffMs(2)));
  assert.ok(spread.size > 10, "two writers that collided do not retry in step");
  assert.ok([...spread].every((ms) => ms >= 0 && ms < 20));
});

Deno.test("aggregate() binds a decider to its stream: call sites pass commands only", async () => {
  type Named = { type: "Name"; data: { tagId: string; name: string } };
  const named = aggregate<Named, TagEvent, Tag>(
    {
      ...tag,
      decide: (command, state) => tag.decide(rename(command.data.name), state),
    },
    (tagId) => `tag-${tagId}`,
    (command) => command.data.tagId,
  );
  const store = memoryEventStore();
  await named.handle(store, { type: "Name", data: { tagId: "7", name: "seven" } }, { metadata });
  assert.equal(named.streamId("7"), "tag-7");
  assert.deepEqual((await store.readStream("tag-7")).map((e) => e.type), ["TagRenamed"]);
  const { state, revision } = await named.read(store, "7");
  assert.deepEqual(state, { name: "seven", removed: false });
  assert.equal(revision, 0);
  assert.deepEqual((await named.read(store, "8")).revision, -1);
});
