// Runs `deno task dev` (and `deno task checkout`) as a user does, from the project's
// folder, in a process of its own, for the dev loop's end-to-end test and benchmark.
// Everything else they do goes over HTTP and WebSocket.
import { createClient } from "graphql-ws";
import { collectLines, inheritedEnv, killIfRunning } from "../../support/process.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

export type DevRun = {
  /** What it printed on stdout up to "Ctrl-C stops.". */
  banner: string;
  graphql: string;
  /** The webhook endpoint's URL without its code. */
  webhooks: string;
  /** null when it talks to Stripe (STRIPE_API_KEY). */
  stripeSimulator: string | null;
  /** The secrets it made up and printed, by name. */
  madeUp: Record<string, string>;
  /** Its stderr (JSON log lines), collected until it ends. */
  log: string[];
  /** The `deno task` process's id (the dev process is its child). */
  pid: number;
  /** Ctrl-C: SIGINT, then waits for it to end. */
  stop(): Promise<Deno.CommandStatus>;
};

/** `deno task dev` with `env` (and no more of this process's environment than Deno needs). */
export const startDevTask = async (env: Record<string, string>): Promise<DevRun> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...inheritedEnv(), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout: string[] = [];
  const log: string[] = [];
  let ready: () => void;
  const started = new Promise<void>((resolve) => ready = resolve);
  const read = Promise.all([
    collectLines(child.stdout, stdout, () => {
      if (stdout.includes("Ctrl-C stops.")) ready();
    }).finally(() => ready()),
    collectLines(child.stderr, log),
  ]);
  await started;
  const stop = async () => {
    killIfRunning(child, "SIGINT");
    const status = await child.status;
    await read;
    return status;
  };
  if (!stdout.includes("Ctrl-C stops.")) {
    await stop();
    throw new Error(`deno task dev did not start:\n${[...stdout, ...log].join("\n")}`);
  }
  const banner = stdout.join("\n");
  const field = (label: string) => banner.match(new RegExp(`^  ${label} +(\\S+)`, "m"))?.[1];
  const madeUp = Object.fromEntries(
    [...banner.matchAll(/^ {2}([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  return {
    banner,
    graphql: field("GraphiQL")!,
    webhooks: field("Stripe webhooks")!.replace(/\/api\/.*$/, ""),
    stripeSimulator: banner.match(/simulator at (\S+)/)?.[1] ?? null,
    madeUp,
    log,
    pid: child.pid,
    stop,
  };
};

/** `deno task <task> <args>` in the project's folder; its exit status and output. */
export const runTask = async (task: string, args: string[], env: Record<string, string>) => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...inheritedEnv(), ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
};

/** A GraphQL request over HTTP; throws on errors. */
export const graphql = async <T = Record<string, unknown>>(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> => {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
};

/** Polls `read` until `done` holds of what it returns (what happens in the dev process). */
export const eventually = async <T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

export type PlanUpdate = { id: string; name: string; stripeProductId: string | null };

/**
 * A graphql-ws client subscribed to onPlanUpdated (every plan): `next(predicate)` waits
 * for an update that matches. `dispose` ends the subscription and closes the socket.
 */
export const planUpdates = async (graphqlUrl: string, token: string) => {
  const client = createClient({
    url: graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const closed = new Promise<void>((resolve) => client.on("closed", () => resolve()));
  const seen: PlanUpdate[] = [];
  const waiting = new Set<() => void>();
  let failure: unknown = null;
  const ended = new Promise<void>((resolve, reject) => {
    client.subscribe<{ onPlanUpdated: PlanUpdate }>(
      { query: "subscription { onPlanUpdated { id name stripeProductId } }" },
      {
        next: ({ data, errors }) => {
          if (errors) failure = errors;
          if (data) seen.push(data.onPlanUpdated);
          for (const wake of waiting) wake();
        },
        error: (error) => {
          failure = error;
          for (const wake of waiting) wake();
          reject(error);
        },
        complete: resolve,
      },
    );
  });
  ended.catch(() => {}); // read through `failure`
  await new Promise<void>((resolve) => client.on("connected", () => resolve()));
  return {
    seen,
    next: async (matches: (plan: PlanUpdate) => boolean, timeoutMs = 60_000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        for (;;) {
          if (failure !== null) throw new Error(`onPlanUpdated failed: ${String(failure)}`);
          const found = seen.find(matches);
          if (found) return found;
          await new Promise<void>((resolve, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no such onPlanUpdated in ${JSON.stringify(seen)}`)),
              timeoutMs,
            );
            const wake = () => {
              waiting.delete(wake);
              clearTimeout(timer);
              resolve();
            };
            waiting.add(wake);
          });
        }
      } finally {
        clearTimeout(timer);
      }
    },
    dispose: async () => {
      await client.dispose();
      await closed;
    },
  };
};
