/**
 * subscribeAll over EventStoreDB: a catch-up subscription to $all (system events filtered out
 * by the server) from the subscriber's stored checkpoint, that checkpoints after its handler
 * succeeds and, when the connection fails, opens a new one after a backoff and resumes after
 * the last handled event.
 *
 * Each attempt gets a client of its own, thrown away with the attempt: a fresh HTTP/2
 * session, so a session that Deno's node:http2 has half-closed (a GOAWAY it did not report,
 * Deno issue 26907) is never reused. Deno issue 36788 — the process aborting inside nghttp2
 * when a GOAWAY arrives on a long-idle session — cannot be caught from JavaScript; keepalive
 * pings (see clientConnectionString) keep the session from idling, and a process that dies
 * anyway resumes from its checkpoint when restarted. docs/eventstoredb.md has the details.
 * @module
 */
import type { ResolvedEvent } from "@eventstore/db-client";
import type { SubscribeOptions, Subscription } from "../../application/ports/event_store.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { sleep } from "../../application/shared/sleep.ts";
import { backoffMs, isPermanentAnswer, isSystemEvent, toRecordedEvent } from "./esdb_mapping.ts";

/** What the loop needs of the client's AllStreamSubscription (a Node Readable). */
export type Feed = AsyncIterable<ResolvedEvent> & {
  /** Events received and not yet read: they come before anything the server sends next. */
  readonly readableLength: number;
  on(event: "caughtUp" | "fellBehind", listener: () => void): unknown;
  unsubscribe(): Promise<void>;
};

/** One connection attempt: a subscription from after `position`, and how to let it go. */
export type Session = { subscribe(after: number): Feed; close(): Promise<void> };

export type FollowDeps = {
  connect: () => Session;
  readCheckpoint: (subscriberId: string) => Promise<number>;
  storeCheckpoint: (subscriberId: string, position: number) => Promise<void>;
  logger: Logger;
  /** Events handled between two checkpoints while catching up (default 100). */
  checkpointEvery?: number;
  /** Wait before attempt n+1 after a failure (default: backoffMs). */
  backoff?: (attempt: number) => number;
};

/** The handler threw: that ends the subscription, unlike a connection failure. */
class HandlerFailed extends Error {
  constructor(override readonly cause: unknown) {
    super("subscription handler failed");
  }
}

const describe = (error: unknown) => error instanceof Error ? error.message : String(error);

export const followAll = (
  deps: FollowDeps,
  { subscriberId, handler, signal, onCaughtUp }: SubscribeOptions,
): Subscription => {
  const { logger, checkpointEvery = 100, backoff = backoffMs } = deps;
  const log = logger.with({ subscriberId });
  let position: number | undefined;
  let stored: number | undefined;
  // Checkpoint writes run one after another, each writing the latest position, so a slow
  // write never lands after a newer one.
  let writes = Promise.resolve();
  const checkpoint = () => {
    writes = writes.catch(() => {}).then(async () => {
      if (position === undefined || position === stored) return;
      const at = position;
      await deps.storeCheckpoint(subscriberId, at);
      stored = at;
    });
    return writes;
  };

  const follow = async (feed: Feed) => {
    let live = false;
    let handling = false;
    let sinceCheckpoint = 0;
    /** Events still to handle before reporting caught up; null when no report is due. */
    let beforeCaughtUp: number | null = null;
    const reportCaughtUp = () => {
      beforeCaughtUp = null;
      live = true;
      return checkpoint().then(() => onCaughtUp?.(position ?? 0));
    };
    // The server's caughtUp comes after the events before it were received, but they may
    // still wait in the feed's buffer: report only once those are handled too.
    feed.on("caughtUp", () => {
      beforeCaughtUp = feed.readableLength + (handling ? 1 : 0);
      if (beforeCaughtUp === 0) {
        reportCaughtUp().catch((error) =>
          log.warn("checkpoint failed", { error: describe(error) })
        );
      }
    });
    feed.on("fellBehind", () => {
      live = false;
    });
    const stop = () => void feed.unsubscribe().catch(() => {});
    signal.addEventListener("abort", stop, { once: true });
    // An abort that came while subscribing fires no listener: stop now, or a quiet store
    // sends nothing that would let the loop below see it.
    if (signal.aborted) stop();
    try {
      for await (const resolved of feed) {
        handling = true;
        try {
          const { event } = resolved;
          if (event && !isSystemEvent(event.streamId, event.type)) {
            const recorded = toRecordedEvent(resolved);
            if (position === undefined || recorded.position > position) {
              try {
                await handler(recorded);
              } catch (error) {
                throw new HandlerFailed(error);
              }
              position = recorded.position;
              sinceCheckpoint++;
            }
          }
        } finally {
          handling = false;
        }
        if (beforeCaughtUp !== null && --beforeCaughtUp <= 0) {
          await reportCaughtUp();
          sinceCheckpoint = 0;
        } else if (
          sinceCheckpoint >= checkpointEvery ||
          (live && sinceCheckpoint > 0 && feed.readableLength === 0)
        ) {
          await checkpoint();
          sinceCheckpoint = 0;
        }
        if (signal.aborted) break;
      }
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (!signal.aborted) throw new Error("EventStoreDB ended the subscription");
  };

  const run = async () => {
    let attempt = 0;
    while (!signal.aborted) {
      const session = deps.connect();
      try {
        position ??= await deps.readCheckpoint(subscriberId);
        stored ??= position;
        if (signal.aborted) break; // aborted during the read: do not subscribe at all
        const before = position;
        await follow(session.subscribe(position)).finally(() => {
          if (position !== before) attempt = 0;
        });
      } catch (error) {
        if (error instanceof HandlerFailed) {
          await checkpoint().catch(() => {});
          throw error.cause;
        }
        if (signal.aborted) break;
        // Access denied (to the checkpoint streams, say) or an invalid position: the same
        // answer would come at every attempt, each handling the events since the stored
        // checkpoint again. Fail, as a handler's error does.
        if (isPermanentAnswer(error)) {
          await checkpoint().catch(() => {});
          throw error;
        }
        const waitMs = backoff(attempt++);
        log.warn("EventStoreDB subscription failed; reconnecting", {
          error: describe(error),
          attempt,
          retryInMs: waitMs,
        });
        await checkpoint().catch(() => {});
        await sleep(waitMs, signal);
      } finally {
        await session.close();
      }
    }
    // A checkpoint that cannot be written now only means a few events are seen again.
    await checkpoint().catch((error) => log.warn("checkpoint failed", { error: describe(error) }));
  };
  return { done: run() };
};
