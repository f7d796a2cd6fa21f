/**
 * The outbox publisher: follows the event store from its stored checkpoint and puts the
 * integration event of each Nudges event on the bus (messages.ts). No dual write: a
 * command only appends to the store, and this is the one way onto the bus. A page is
 * published before any of its events is checkpointed, so a crash in between publishes it
 * again (consumers dedupe by eventId) and nothing is ever skipped. An event too large for
 * the bus (recorded before such events were refused) goes to the dead-letter topic as a
 * note instead: it never stops the outbox.
 * @module
 */
import { type Bus, DEAD_LETTER_HEADERS, type OutgoingMessage } from "../ports/bus.ts";
import type { EventStore, Subscription } from "../ports/event_store.ts";
import { type Logger, silentLogger } from "../ports/logger.ts";
import { outboxMessage, tooLargeLetter } from "./messages.ts";

export const OUTBOX_SUBSCRIBER = "outbox";

export type OutboxOptions = {
  store: EventStore;
  bus: Bus;
  signal: AbortSignal;
  /** Names the stored checkpoint (default "outbox"). */
  subscriberId?: string;
  /** Events read and published together (default 500). */
  pageSize?: number;
  logger?: Logger;
  /** Called whenever the outbox has published everything in the store. */
  onCaughtUp?: (position: number) => void;
};

/**
 * Publishes until `signal` aborts. `done` rejects if publishing failed for good (the bus
 * is down, or an UnpublishableEvent): restart it, and it goes on from its checkpoint.
 */
export const startOutbox = (options: OutboxOptions): Subscription => {
  const { store, bus, signal, pageSize = 500, onCaughtUp } = options;
  const logger = (options.logger ?? silentLogger).with({ subscriber: "outbox" });
  // The subscription hands over one event at a time; the first of a page publishes the
  // page and the rest find themselves published already. Each event is thus on the bus
  // before its handler returns, which is all the checkpoint needs. Pages are read after
  // the previous event's position: a store's positions need not be consecutive numbers
  // (EventStoreDB's are log offsets), so `position - 1` is no place to read from.
  const subscriberId = options.subscriberId ?? OUTBOX_SUBSCRIBER;
  let previous: number | undefined;
  let publishedUpTo = 0;
  return store.subscribeAll({
    subscriberId,
    signal,
    onCaughtUp,
    handler: async (event) => {
      previous ??= await store.readCheckpoint(subscriberId);
      if (event.position <= publishedUpTo) {
        previous = event.position;
        return;
      }
      const page = await store.readAll({ after: previous, limit: pageSize });
      const messages: OutgoingMessage[] = [];
      for (const recorded of page) {
        const message = await outboxMessage(store, recorded);
        if (message === null) continue;
        const letter = tooLargeLetter(message, recorded);
        if (letter) {
          logger.error("event too large for the bus, dead-lettered", {
            error: letter.headers![DEAD_LETTER_HEADERS.error],
          });
        }
        messages.push(letter ?? message);
      }
      await bus.publish(messages);
      publishedUpTo = page.at(-1)?.position ?? event.position;
      previous = event.position;
      logger.debug("published", { events: page.length, messages: messages.length, publishedUpTo });
    },
  });
};
