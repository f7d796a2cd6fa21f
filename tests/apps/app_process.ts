// Runs a production app as its own process, exactly as its deno.json task runs it (same
// permissions, same entry point), with only the environment a test gives it.
import { fileURLToPath } from "node:url";
import { collectLines, inheritedEnv, killIfRunning } from "../support/process.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export type AppName = "product_api" | "kafka_consumer" | "webhooks" | "reconcile";

/** The `deno …` arguments of the app's task in deno.json, e.g. ["run", "--allow-net", …]. */
export const taskArgs = async (app: AppName): Promise<string[]> => {
  const { tasks } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const [deno, ...args] = (tasks[app] as string).trim().split(/\s+/);
  if (deno !== "deno") throw new Error(`the ${app} task does not run deno: ${tasks[app]}`);
  return args;
};

export type AppProcess = {
  app: AppName;
  /** Everything it wrote, stdout and stderr, line by line, as it comes. */
  output: string[];
  /** The output lines that are JSON log lines, parsed. */
  logs(): Record<string, unknown>[];
  kill(signal: Deno.Signal): void;
  /** Its exit status, once it ended and all its output was read. */
  finished: Promise<Deno.CommandStatus>;
};

export const spawnApp = async (
  app: AppName,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<AppProcess> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...await taskArgs(app), ...extraArgs],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...inheritedEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const read = Promise.all([
    collectLines(child.stdout, output),
    collectLines(child.stderr, output),
  ]);
  return {
    app,
    output,
    logs: () =>
      output.flatMap((line) => {
        if (!line.startsWith("{")) return [];
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      }),
    kill: (signal) => killIfRunning(child, signal),
    finished: read.then(() => child.status),
  };
};

/** Polls `check` until it returns a value other than undefined; fails after `timeoutMs`. */
export const eventually = async <T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, app }: { timeoutMs?: number; app?: AppProcess[] } = {},
): Promise<T> => {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) {
      const tails = (app ?? []).map((p) => `--- ${p.app}:\n${p.output.slice(-15).join("\n")}`);
      throw new Error(
        `${what}: not within ${timeoutMs / 1000} s${last ? ` (last: ${last})` : ""}\n${
          tails.join("\n")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

/** GET `url`: its status and its body as text. */
export const get = async (url: string): Promise<{ status: number; text: string }> => {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
};

/** The value of one series in a Prometheus text, or undefined when absent. */
export const sample = (metrics: string, series: string): number | undefined => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};
