// A stand-in for @eventstore/db-client 6.2.1's client, for the EventStoreDB store's tests
// without a server. install() makes EventStoreDBClient.connectionString (the one way
// adapters/eventstore/esdb_connection.ts makes clients) return it. Appends go through the
// library's own per-call append (dist/streams/appendToStream/append.js) down to a fake gRPC
// Append call, answered with the server's AppendResp; the client's batch path
// (appendToStream, setStreamMetadata) only counts and fails, so a test sees if it was used.
import { EventEmitter } from "node:events";
import { EventStoreDBClient, type ResolvedEvent } from "@eventstore/db-client";
import * as streamsPb from "@eventstore/db-client/generated/streams_pb.js";

// The generated protobuf modules are CommonJS that Deno cannot read named exports from.
const { AppendResp } = (streamsPb as unknown as { default: typeof streamsPb }).default;
type AppendResp = InstanceType<typeof AppendResp>;

type Stored = { revision: number; type: string; data: unknown; commit: number };
type Proposed = {
  getOptions?(): { getStreamIdentifier(): { getStreamName_asU8(): Uint8Array } } | undefined;
  getProposedMessage?(): {
    getMetadataMap(): { get(key: string): string };
    getData_asU8(): Uint8Array;
  } | undefined;
};

export type FakeClient = ReturnType<typeof fakeClient>;

export const fakeClient = () => {
  const streams = new Map<string, Stored[]>();
  const appended: { stream: string; types: string[]; data: unknown[] }[] = [];
  let commit = 0;
  let batch = 0;
  let clientsMade = 0;
  let disposed = 0;
  /** While set, appends are held unanswered until release() is called. */
  let holding: (() => void)[] | null = null;

  const answer = (stream: string, messages: Proposed[], reply: (resp: AppendResp) => void) => {
    const events = messages.flatMap((m) => {
      const proposed = m.getProposedMessage?.();
      if (!proposed) return [];
      const type = proposed.getMetadataMap().get("type");
      return [{ type, data: JSON.parse(new TextDecoder().decode(proposed.getData_asU8())) }];
    });
    const stored = streams.get(stream) ?? [];
    for (const e of events) {
      stored.push({ revision: (stored.at(-1)?.revision ?? -1) + 1, ...e, commit: commit += 100 });
    }
    streams.set(stream, stored);
    appended.push({ stream, types: events.map((e) => e.type), data: events.map((e) => e.data) });
    reply(
      new AppendResp().setSuccess(
        new AppendResp.Success().setCurrentRevision(String(stored.at(-1)!.revision)).setPosition(
          new AppendResp.Position().setCommitPosition(String(commit)).setPreparePosition(
            String(commit),
          ),
        ),
      ),
    );
  };

  const grpc = {
    append: (...args: unknown[]) => {
      const callback = args.at(-1) as (error: unknown, resp?: AppendResp) => void;
      const sink = new EventEmitter() as EventEmitter & {
        write(m: Proposed): boolean;
        end(): void;
      };
      const messages: Proposed[] = [];
      sink.write = (message) => (messages.push(message), true);
      sink.end = () => {
        const header = messages[0]!.getOptions!()!;
        const stream = new TextDecoder().decode(header.getStreamIdentifier().getStreamName_asU8());
        const reply = () => answer(stream, messages, (resp) => callback(null, resp));
        if (holding) holding.push(reply);
        else reply();
      };
      return sink;
    },
  };

  const resolvedOf = (streamId: string, e: Stored): ResolvedEvent => ({
    event: {
      streamId,
      id: crypto.randomUUID(),
      revision: BigInt(e.revision),
      type: e.type,
      data: e.data,
      metadata: {},
      isJson: true,
      created: new Date(0),
      position: { commit: BigInt(e.commit), prepare: BigInt(e.commit) },
    } as NonNullable<ResolvedEvent["event"]>,
  });

  const makeClient = () => {
    clientsMade++;
    return {
      throwOnAppendFailure: true,
      callArguments: () => [],
      execute: (_: unknown, __: string, action: (client: typeof grpc) => unknown) => action(grpc),
      createChannel: () => Promise.resolve({ close() {} }),
      dispose: () => (disposed++, Promise.resolve()),
      appendToStream: () => (batch++, Promise.reject(new Error("the batch path was used"))),
      setStreamMetadata: () => (batch++, Promise.reject(new Error("the batch path was used"))),
      readStream: (streamId: string, options: { direction?: string; maxCount?: number } = {}) => {
        const stored = streams.get(streamId) ?? [];
        const events = options.direction === "backwards"
          ? stored.slice(-(options.maxCount ?? stored.length)).reverse()
          : stored;
        return (async function* () {
          for (const e of events) yield resolvedOf(streamId, e);
        })();
      },
    };
  };

  return {
    streams,
    appended,
    /** Gives `streamId` events at revisions 0 … count - 1. */
    seed(streamId: string, count: number) {
      streams.set(
        streamId,
        Array.from({ length: count }, (_, revision) => ({
          revision,
          type: "Seeded",
          data: {},
          commit: commit += 100,
        })),
      );
    },
    lastCommit: () => commit,
    batchCalls: () => batch,
    clientsMade: () => clientsMade,
    disposed: () => disposed,
    hold: () => void (holding ??= []),
    /** Answers the held appends, and answers the next ones at once. */
    release: () => {
      const held = holding ?? [];
      holding = null;
      for (const reply of held) reply();
    },
    /** Makes EventStoreDBClient.connectionString return fake clients; returns the undo. */
    install: () => {
      const original = EventStoreDBClient.connectionString;
      EventStoreDBClient.connectionString = (() => makeClient()) as never;
      return () => void (EventStoreDBClient.connectionString = original);
    },
  };
};
