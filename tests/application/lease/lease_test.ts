// The lease that makes the outbox single-owner across processes. Time by the lease is a
// clock the tests move by hand; the loops tick on short real timers.
import assert from "node:assert/strict";
import { join } from "node:path";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { sqliteEventStore } from "../../../adapters/eventstore/sqlite.ts";
import type { Bus } from "../../../application/ports/bus.ts";
import type { Clock } from "../../../application/ports/clock.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { HEADERS } from "../../../application/shared/integration_events.ts";
import {
  type LeaseCommand,
  leaseDecider,
  type LeaseEvent,
  type LeaseState,
  leaseStream,
} from "../../../application/lease/lease.ts";
import { runWithLease } from "../../../application/lease/runner.ts";
import { startOutbox } from "../../../application/outbox/outbox.ts";
import { DomainError, fold } from "../../../domain/decider.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";

const AT = "2026-03-01T12:00:00.000Z";
const TTL = 15_000;
const STREAM = leaseStream("outbox");

/** A clock that stands still until the test moves it. */
const manualClock = () => {
  let now = Date.parse(AT);
  const clock: Clock = () => new Date(now).toISOString();
  return { clock, advance: (ms: number) => void (now += ms) };
};

/** Waits for `condition`; the bound only keeps a broken build from hanging. */
const eventually = async (what: string, condition: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 2500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`never happened: ${what}`);
};

/** `store` with a switch that makes every call fail (the process lost it), counting lease reads. */
const unplugged = (store: EventStore) => {
  let down = false;
  let leaseReads = 0;
  const guard = <T>(call: () => Promise<T>) =>
    down ? Promise.reject(new Error("connection lost")) : call();
  const wrapped: EventStore = {
    ...store,
    append: (...args) => guard(() => store.append(...args)),
    readStream: (streamId) => {
      if (streamId === STREAM) leaseReads++;
      return guard(() => store.readStream(streamId));
    },
  };
  return { store: wrapped, unplug: () => void (down = true), leaseReads: () => leaseReads };
};

/** A process contending for the lease; `log` records when its work starts and stops. */
const contender = (store: EventStore, holder: string, clock: Clock, log: string[]) => {
  const stop = new AbortController();
  let workSignal: AbortSignal | undefined;
  const runner = runWithLease({
    store,
    name: "outbox",
    holder,
    clock,
    signal: stop.signal,
    ttlMs: TTL,
    renewEveryMs: 2,
    retryEveryMs: 2,
    whileHeld: (signal) => {
      workSignal = signal;
      log.push(`${holder} starts`);
      return new Promise((resolve) =>
        signal.addEventListener("abort", () => {
          log.push(`${holder} stops`);
          resolve();
        }, { once: true })
      );
    },
  });
  return {
    held: runner.held,
    workSignal: () => workSignal,
    stop: () => (stop.abort(), runner.done),
  };
};

const leaseEvents = async (store: EventStore) =>
  (await store.readStream(STREAM)).map((e) => ({ type: e.type, data: e.data }) as LeaseEvent);

/** Most works running at once, by a log of starts and stops. */
const mostAtOnce = (log: string[]) => {
  let running = 0;
  let most = 0;
  for (const line of log) {
    running += line.endsWith("starts") ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
};

Deno.test("the lease decider lets a process take a free, released or expired lease and refuses a held one", () => {
  const acquire = (holder: string, at: string): LeaseCommand => ({
    type: "Acquire",
    data: { holder, at, ttlMs: TTL },
  });
  const after = (state: LeaseState, command: LeaseCommand) =>
    leaseDecider.decide(command, state).reduce(leaseDecider.evolve, state);

  const taken = leaseDecider.decide(acquire("a", AT), null);
  assert.deepEqual(taken, [
    { type: "LeaseAcquired", data: { holder: "a", until: "2026-03-01T12:00:15.000Z" } },
  ]);
  const byA = fold(leaseDecider, taken);
  const before = "2026-03-01T12:00:14.999Z";
  assert.throws(
    () => leaseDecider.decide(acquire("b", before), byA),
    (e) => e instanceof DomainError && e.code === "LeaseHeld" && /held by a/.test(e.message),
  );
  assert.deepEqual(leaseDecider.decide(acquire("a", before), byA), [
    { type: "LeaseRenewed", data: { holder: "a", until: "2026-03-01T12:00:29.999Z" } },
  ]);
  assert.deepEqual(after(byA, acquire("b", "2026-03-01T12:00:15.000Z")), {
    holder: "b",
    until: "2026-03-01T12:00:30.000Z",
  });
  assert.deepEqual(leaseDecider.decide({ type: "Release", data: { holder: "b" } }, byA), []);
  const released = after(byA, { type: "Release", data: { holder: "a" } });
  assert.deepEqual(after(released, acquire("b", AT))?.holder, "b");
  assert.throws(
    () => leaseDecider.decide(acquire("b", "yesterday"), null),
    (e) => e instanceof DomainError && e.kind === "invalid" && /"yesterday"/.test(e.message),
  );
});

Deno.test("of two contenders on one store exactly one holds the lease", async () => {
  const store = memoryEventStore();
  const { clock } = manualClock();
  const log: string[] = [];
  const a = contender(store, "a", clock, log);
  const b = contender(store, "b", clock, log);
  try {
    await eventually("ten lease events", async () => (await leaseEvents(store)).length >= 10);
    assert.equal([a.held(), b.held()].filter(Boolean).length, 1);
    const events = await leaseEvents(store);
    assert.equal(events.filter((e) => e.type === "LeaseAcquired").length, 1);
    assert.equal(new Set(events.map((e) => e.data.holder)).size, 1, "renewed by its taker only");
    assert.equal(mostAtOnce(log), 1);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.equal((await leaseEvents(store)).at(-1)?.type, "LeaseReleased");
});

Deno.test("a holder that stops releases the lease and the other takes it over before it expires", async () => {
  const store = memoryEventStore();
  const { clock } = manualClock(); // never moved: only a release can hand the lease over
  const log: string[] = [];
  const a = contender(store, "a", clock, log);
  await eventually("a holds", () => a.held());
  const watched = unplugged(store);
  const b = contender(watched.store, "b", clock, log);
  try {
    await eventually("b tried three times", () => watched.leaseReads() >= 3);
    assert.equal(b.held(), false);
    await a.stop();
    await eventually("b holds", () => b.held());
    assert.deepEqual(log, ["a starts", "a stops", "b starts"]);
    assert.deepEqual(
      (await leaseEvents(store)).map((e) => e.type).filter((t) => t !== "LeaseRenewed"),
      [
        "LeaseAcquired",
        "LeaseReleased",
        "LeaseAcquired",
      ],
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

Deno.test("when the holder can no longer renew, it stops at once and the other takes over once the lease expired", async () => {
  const store = memoryEventStore();
  const time = manualClock();
  const log: string[] = [];
  const crashing = unplugged(store);
  const a = contender(crashing.store, "a", time.clock, log);
  await eventually("a holds", () => a.held());
  const watched = unplugged(store);
  const b = contender(watched.store, "b", time.clock, log);
  try {
    crashing.unplug();
    await eventually("a stopped", () => !a.held());
    assert.equal(a.workSignal()?.aborted, true);
    const tries = watched.leaseReads();
    await eventually("b tried three more times", () => watched.leaseReads() >= tries + 3);
    assert.equal(b.held(), false, "a's lease has not expired yet");

    time.advance(TTL);
    await eventually("b holds", () => b.held());
    assert.deepEqual(log, ["a starts", "a stops", "b starts"]);
    const last = (await leaseEvents(store)).at(-1)!;
    assert.equal(last.data.holder, "b");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

Deno.test("a holder whose renewal finds another holder stops its work and leaves the lease alone", async () => {
  const store = memoryEventStore();
  const { clock } = manualClock();
  const log: string[] = [];
  const watched = unplugged(store);
  const a = contender(watched.store, "a", clock, log);
  try {
    await eventually("a holds", () => a.held());
    // Another process took it (its clock ran ahead, say): a's next renewal must see so.
    const revision = (await store.readStream(STREAM)).at(-1)!.revision;
    await store.append(STREAM, [{
      type: "LeaseAcquired",
      data: { holder: "intruder", until: "2026-03-01T13:00:00.000Z" },
      metadata: {
        eventId: "lease-intruder",
        correlationId: "t",
        causationId: "t",
        cause: { kind: "system", reason: "test" },
      },
    }], revision);
    await eventually("a stopped", () => !a.held());
    assert.equal(a.workSignal()?.aborted, true);
    const tries = watched.leaseReads();
    await eventually("a tried three more times", () => watched.leaseReads() >= tries + 3);
    assert.equal(a.held(), false);
    assert.deepEqual(log, ["a starts", "a stops"]);
  } finally {
    await a.stop();
  }
  const events = await leaseEvents(store);
  assert.equal(events.at(-1)?.data.holder, "intruder", "a releases only a lease it holds");
});

Deno.test("two outbox processes on one SQLite store, each behind the lease, publish every event once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lease_outbox_" });
  const path = join(dir, "events.sqlite");
  const { clock } = manualClock();
  const stores = [
    sqliteEventStore(path, { clock, pollMs: 5 }),
    sqliteEventStore(path, { clock, pollMs: 5 }),
  ];
  const published: string[] = [];
  const bus: Bus = {
    publish: (messages) => {
      published.push(...messages.map((m) => m.headers![HEADERS.eventId]!));
      return Promise.resolve();
    },
    consume: () => Promise.reject(new Error("not here")),
    close: () => Promise.resolve(),
  };
  const processes = stores.map((store, i) => {
    const stop = new AbortController();
    const runner = runWithLease({
      store,
      name: "outbox",
      holder: `process-${i}`,
      clock,
      signal: stop.signal,
      renewEveryMs: 5,
      whileHeld: (signal) => startOutbox({ store, bus, signal }).done,
    });
    return { ...runner, stop: () => (stop.abort(), runner.done) };
  });
  let n = 0;
  const createPlans = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const planId = `p-${++n}`;
      await handleCommand(stores[n % 2]!, planDecider, planStream(planId), {
        type: "CreatePlan",
        data: { planId, at: AT, name: `Plan ${n}`, description: null, iconUrl: null },
      }, {
        metadata: { correlationId: "c", causationId: "c", cause: { kind: "system", reason: "t" } },
        newEventId: () => `evt-${planId}`,
      });
    }
  };
  const allPublished = (count: number) => () =>
    Array.from({ length: count }, (_, i) => `evt-p-${i + 1}`).every((id) => published.includes(id));
  try {
    await createPlans(10);
    await eventually("one process holds", () => processes.some((p) => p.held()));
    await createPlans(10);
    await eventually("20 plans published", allPublished(20));
    assert.equal(processes.filter((p) => p.held()).length, 1);

    const [holder, other] = processes[0]!.held() ? processes : [processes[1]!, processes[0]!];
    await holder!.stop();
    await createPlans(10);
    await eventually("the other took over", () => other!.held());
    await eventually("30 plans published", allPublished(30));
    assert.deepEqual(
      [...published].sort(),
      Array.from({ length: 30 }, (_, i) => `evt-p-${i + 1}`).sort(),
    );
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(stores.map((s) => s.close()));
    await Deno.remove(dir, { recursive: true });
  }
});
