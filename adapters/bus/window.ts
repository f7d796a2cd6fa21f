/**
 * A consumer's messages in hand, for both bus adapters: up to `concurrency` handlers run
 * at once, never two of one key (a key's next message waits behind the one running, in
 * order), and per partition only the unbroken run of finished messages from the oldest
 * one may be committed. At most `capacity` messages are in hand, finished or not, ahead of
 * the last commit, so a crash redelivers at most that many. How one message is run
 * (attempts, backoff, pause) is delivery.ts; the adapters fetch, admit and commit.
 * @module
 */
import type { IncomingMessage } from "../../application/ports/bus.ts";
import type { Gate, Outcome } from "./delivery.ts";

type Entry = { message: IncomingMessage; outcome: Outcome | null };

/** What a partition may commit: the offset to read next, and the messages finished below it. */
export type Commit = {
  topic: string;
  partition: number;
  nextOffset: string;
  settled: { message: IncomingMessage; outcome: Outcome }[];
};

export type WindowOptions = {
  concurrency: number;
  /** Messages in hand at most (default four times `concurrency`). */
  capacity?: number;
  gate: Gate;
  /** Runs one message to its outcome; never rejects (a rejection counts as abandoned). */
  run: (message: IncomingMessage) => Promise<Outcome>;
  /** Called whenever a message finished: time to look for commits. */
  onSettled: () => void;
  /** Called at least every `keepAliveMs` while waiting (Kafka's heartbeat). */
  keepAlive?: () => Promise<void>;
  keepAliveMs?: number;
};

export type MessageWindow = {
  /**
   * Takes `message` in hand once there is room and the consumer is not paused; false,
   * and not taken, when the consumer is stopping. Messages of a partition are admitted
   * in offset order.
   */
  admit(message: IncomingMessage): Promise<boolean>;
  /** Resolves once every message in hand has finished (or was abandoned). */
  drained(): Promise<void>;
  /** Takes the finished runs at the head of each partition: what may be committed now. */
  commits(): Commit[];
  /** Messages in hand, finished or not, not yet taken by commits(). */
  readonly size: number;
};

export const messageWindow = (options: WindowOptions): MessageWindow => {
  const { concurrency, gate, run, onSettled } = options;
  const capacity = options.capacity ?? concurrency * 4;
  const keepAlive = options.keepAlive ?? (() => Promise.resolve());
  const keepAliveMs = options.keepAliveMs ?? 3000;
  /** Per partition, the messages in hand in offset order. */
  const partitions = new Map<string, Entry[]>();
  /** Messages whose key is free, waiting for a handler slot, in the order admitted. */
  const ready: Entry[] = [];
  /** Keys with a message ready or running. */
  const busy = new Set<string>();
  /** Per busy key, the messages waiting behind the one ready or running. */
  const behind = new Map<string, Entry[]>();
  let running = 0;
  let size = 0;
  let unfinished = 0;
  let changed = new Set<() => void>();

  const notify = () => {
    const waiting = changed;
    changed = new Set();
    for (const wake of waiting) wake();
  };
  /** Waits for a change in the window, resume() or stop(), beating at least every keepAliveMs. */
  const change = async () => {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    changed.add(wake);
    // Once stopping, gate.wait() no longer waits: only the window's own changes count.
    const timer = gate.stopping.aborted
      ? new Promise<void>((resolve) => setTimeout(resolve, keepAliveMs))
      : gate.wait(keepAliveMs);
    await Promise.race([woken, timer]);
    changed.delete(wake);
    await keepAlive().catch(() => {});
  };

  const keyOf = (message: IncomingMessage) => `${message.topic}\u0000${message.key}`;

  const finish = (entry: Entry, outcome: Outcome) => {
    entry.outcome = outcome;
    running--;
    unfinished--;
    const key = keyOf(entry.message);
    const next = behind.get(key);
    if (next === undefined) busy.delete(key);
    else {
      ready.push(next.shift()!);
      if (next.length === 0) behind.delete(key);
    }
    start();
    onSettled();
    notify();
  };

  const start = () => {
    while (running < concurrency && ready.length > 0) {
      const entry = ready.shift()!;
      running++;
      run(entry.message).then(
        (outcome) => finish(entry, outcome),
        () => finish(entry, { kind: "abandoned" }),
      );
    }
  };

  return {
    admit: async (message) => {
      while (!gate.stopping.aborted && (gate.paused || size >= capacity)) await change();
      if (gate.stopping.aborted) return false;
      const entry: Entry = { message, outcome: null };
      const partition = `${message.topic}\u0000${message.partition}`;
      const list = partitions.get(partition);
      if (list) list.push(entry);
      else partitions.set(partition, [entry]);
      size++;
      unfinished++;
      const key = keyOf(message);
      if (!busy.has(key)) {
        busy.add(key);
        ready.push(entry);
      } else {
        const queue = behind.get(key);
        if (queue) queue.push(entry);
        else behind.set(key, [entry]);
      }
      start();
      return true;
    },
    drained: async () => {
      while (unfinished > 0) await change();
    },
    commits: () => {
      const commits: Commit[] = [];
      for (const [id, list] of partitions) {
        let done = 0;
        while (
          done < list.length && list[done]!.outcome !== null &&
          list[done]!.outcome!.kind !== "abandoned"
        ) done++;
        if (done === 0) continue;
        const settled = list.splice(0, done).map(({ message, outcome }) => ({
          message,
          outcome: outcome!,
        }));
        if (list.length === 0) partitions.delete(id);
        size -= done;
        const last = settled.at(-1)!.message;
        commits.push({
          topic: last.topic,
          partition: last.partition,
          nextOffset: (BigInt(last.offset) + 1n).toString(),
          settled,
        });
      }
      if (commits.length > 0) notify();
      return commits;
    },
    get size() {
      return size;
    },
  };
};
