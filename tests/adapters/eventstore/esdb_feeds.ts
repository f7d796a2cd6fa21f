// Scripted feeds shaped like the client's AllStreamSubscription, for the subscription loop's
// tests: a Transform that emits "caughtUp" when it processes the server's marker, after the
// events before it went into its buffer — as the client's does.
import { Transform } from "node:stream";
import type { ResolvedEvent } from "@eventstore/db-client";
import type { Feed, Session } from "../../../adapters/eventstore/esdb_subscription.ts";

export const CAUGHT_UP = "caughtUp";
export type Item = ResolvedEvent | typeof CAUGHT_UP | Error;

export class FakeFeed extends Transform {
  unsubscribed = false;
  constructor() {
    super({ objectMode: true });
  }
  override _transform(item: Item, _: unknown, next: (e?: Error | null, v?: unknown) => void) {
    if (item === CAUGHT_UP) {
      this.emit("caughtUp");
      return next();
    }
    if (item instanceof Error) {
      this.emit("error", item); // as the client does with its gRPC stream's errors
      return next();
    }
    next(null, item);
  }
  unsubscribe() {
    this.unsubscribed = true;
    this.end();
    return Promise.resolve();
  }
}

export const resolved = (
  position: number,
  streamId = "plan-1",
  type = "PlanCreated",
): ResolvedEvent => ({
  event: {
    streamId,
    id: crypto.randomUUID(),
    revision: 0n,
    type,
    data: { position },
    metadata: {
      eventId: `e-${position}`,
      correlationId: "c",
      causationId: "c",
      cause: { kind: "system", reason: "test" },
    },
    isJson: true,
    created: new Date(0),
    position: { commit: BigInt(position), prepare: BigInt(position) },
  } as NonNullable<ResolvedEvent["event"]>,
});

/** Sessions that each replay a script once subscribed, recording where they started. */
export const scripted = (...scripts: Item[][]) => {
  const subscribedAfter: number[] = [];
  const feeds: FakeFeed[] = [];
  let closed = 0;
  const connect = (): Session => ({
    subscribe: (after: number): Feed => {
      subscribedAfter.push(after);
      const feed = new FakeFeed();
      feeds.push(feed);
      const script = scripts[feeds.length - 1] ?? [];
      queueMicrotask(() => {
        for (const item of script) feed.write(item);
      });
      return feed;
    },
    close: () => {
      closed++;
      return Promise.resolve();
    },
  });
  return { connect, subscribedAfter, feeds, closedSessions: () => closed };
};

export const checkpoints = (start = 0) => {
  const stored: number[] = [];
  return {
    stored,
    readCheckpoint: () => Promise.resolve(stored.at(-1) ?? start),
    storeCheckpoint: (_: string, position: number) => {
      stored.push(position);
      return Promise.resolve();
    },
  };
};

export const deferred = <T = void>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
};
