/**
 * The writer thread of sqlite_writer.ts: the one connection that writes the event store
 * file, taking the writes of every store given a port to it into one group commit, and
 * telling each port of every commit that wrote events.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { openEventStoreFile } from "./sqlite_file.ts";
import { type EventStoreWrites, eventStoreWrites, toWriteFailure } from "./sqlite_writes.ts";
import type { FromWriter, Reply, ToWriter, WriterControl, WriterReport } from "./sqlite_writer.ts";

const thread = self as unknown as {
  onmessage: (event: MessageEvent<WriterControl>) => void;
  postMessage(message: WriterReport): void;
};

let open: { db: DatabaseSync; writes: EventStoreWrites } | null = null;

/** Per port, the replies of the last commit, sent with news of it. */
const ports = new Map<MessagePort, Reply[]>();
let wroteEvents = false;
let announcing = false;

/**
 * Once a commit's writes have settled (their reply callbacks run as microtasks after it),
 * one message per port: its replies, and whether events were written.
 */
const announce = () => {
  if (announcing) return;
  announcing = true;
  queueMicrotask(() =>
    queueMicrotask(() => {
      announcing = false;
      const committed = wroteEvents;
      wroteEvents = false;
      for (const [port, replies] of ports) {
        if (replies.length === 0 && !committed) continue;
        port.postMessage({ replies, committed } satisfies FromWriter);
        ports.set(port, []);
      }
    })
  );
};

const serve = (port: MessagePort, writes: EventStoreWrites) => {
  const reply = (message: Reply) => {
    ports.get(port)?.push(message);
    announce();
  };
  port.onmessage = ({ data }: MessageEvent<ToWriter>) => {
    if ("bye" in data) {
      ports.delete(port);
      port.close();
      return;
    }
    for (const { id, request } of data.writes) {
      writes.write(request).then(
        (result) => reply({ id, result }),
        (error) => reply({ id, failure: toWriteFailure(error) }),
      );
    }
  };
  ports.set(port, []);
};

thread.onmessage = ({ data }) => {
  if ("open" in data) {
    try {
      const db = openEventStoreFile(data.open, data.busyTimeoutMs);
      const writes = eventStoreWrites(db, {
        maxGroup: data.maxGroup,
        committed: () => {
          wroteEvents = true;
          announce();
        },
      });
      open = { db, writes };
      thread.postMessage({ opened: true });
    } catch (error) {
      thread.postMessage({ failed: error instanceof Error ? error.message : String(error) });
    }
  } else if ("autocheckpoint" in data) {
    if (open?.db.isOpen) open.db.exec(`PRAGMA wal_autocheckpoint = ${data.autocheckpoint}`);
  } else if ("connect" in data) {
    if (open) serve(data.connect, open.writes);
    else data.connect.close();
  } else {
    const closing = open;
    open = null;
    (async () => {
      if (closing) {
        // Writes already given still commit, as a store's own close() lets them.
        closing.writes.flush();
        await new Promise((resolve) => setTimeout(resolve, 0)); // their replies go out first
        for (const port of ports.keys()) port.close();
        ports.clear();
        closing.db.close();
      }
      thread.postMessage({ closed: true });
    })().catch((error) => thread.postMessage({ failed: String(error) }));
  }
};
