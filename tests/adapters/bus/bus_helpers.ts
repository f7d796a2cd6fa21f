// Small tools for the bus tests: wait for a condition, collect what a consumer handled,
// and drive a consumer in a process of its own.
import type {
  Bus,
  BusBrowser,
  ConsumeOptions,
  Consumer,
  IncomingMessage,
} from "../../../application/ports/bus.ts";
import { textLines } from "../../support/process.ts";
import type { Backend } from "./consumer_process.ts";

export type BusHarness = {
  /** A bus on the shared backend; a second one stands for a restarted process. */
  open(): Bus & BusBrowser;
  /** How a consumer in another process reaches the same backend. */
  backend: Backend;
  cleanup(): Promise<void>;
};

/** A test of a contract suite: a fresh harness and bus each, closed afterwards. */
export const contractTest = (
  name: string,
  setup: () => Promise<BusHarness>,
  ignore: boolean,
) =>
(title: string, fn: (h: BusHarness, bus: Bus & BusBrowser) => Promise<void>) =>
  Deno.test({
    name: `${name}: ${title}`,
    ignore,
    fn: async () => {
      const harness = await setup();
      const bus = harness.open();
      try {
        await fn(harness, bus);
      } finally {
        await bus.close();
        await harness.cleanup();
      }
    },
  });

/** A topic or group name of its own for one test. */
export const unique = (label: string) => `contract.${label}.${crypto.randomUUID().slice(0, 8)}`;

export const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
};

/** Polls `condition` until it holds; fails with `what` after `timeoutMs` (a safety net). */
export const eventually = async (
  condition: () => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

export type Collected = { messages: IncomingMessage[]; consumer: Consumer };

/**
 * Consumes with `options.handler` (if any) and records every message it handled;
 * resolves once `count` were handled.
 */
export const collect = async (
  bus: Bus,
  options: Omit<ConsumeOptions, "handler"> & {
    handler?: (message: IncomingMessage) => void | Promise<void>;
  },
  count: number,
): Promise<Collected> => {
  const messages: IncomingMessage[] = [];
  const consumer = await bus.consume({
    ...options,
    handler: async (message) => {
      await options.handler?.(message);
      messages.push(message);
    },
  });
  try {
    await eventually(() => messages.length >= count, `${count} messages of ${options.topics}`);
  } catch (error) {
    await consumer.stop();
    throw error;
  }
  return { messages, consumer };
};

type Line = Record<string, string | undefined>;

/** tests/adapters/bus/consumer_process.ts in a child process. */
export const spawnConsumer = (
  backend: Backend,
  groupId: string,
  topic: string,
  mode: "hang" | "slow",
  target: string,
  concurrency = 1,
) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      new URL("./consumer_process.ts", import.meta.url).pathname,
      JSON.stringify(backend),
      groupId,
      topic,
      mode,
      target,
      String(concurrency),
    ],
    cwd: new URL("../../..", import.meta.url).pathname,
    env: { NO_COLOR: "1", KAFKAJS_NO_PARTITIONER_WARNING: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: Line[] = [];
  let stderr = "";
  const waiters = new Set<() => void>();
  const read = async () => {
    for await (const line of textLines(child.stdout, { dropUnfinished: true })) {
      if (line.startsWith("{")) lines.push(JSON.parse(line));
      for (const wake of waiters) wake();
    }
  };
  const reading = Promise.all([
    read(),
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += chunk;
      }
    })(),
  ]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    for (const wake of waiters) wake();
    return s;
  });
  return {
    /** Resolves once the child printed a line that `match`es. */
    waitFor: async (match: (line: Line) => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!lines.some(match)) {
        if (exited || Date.now() > deadline) {
          if (!exited) child.kill("SIGKILL");
          await status;
          await reading;
          throw new Error(
            `the consumer process ${exited ? "ended" : "timed out"} before the expected line; ` +
              `it printed ${JSON.stringify(lines)} and on stderr:\n${stderr.slice(-3000)}`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 100);
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    /** Sends `signal` and waits for the child to end (SIGKILL after 60 s). */
    kill: async (signal: Deno.Signal) => {
      child.kill(signal);
      const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 60_000);
      const { code } = await status;
      clearTimeout(timer);
      await reading;
      return { code, lines, stderr };
    },
  };
};
