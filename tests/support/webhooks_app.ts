// Runs apps/webhooks/main.ts as its own process, as it runs in production, for tests and
// benchmarks that talk to it over a socket.
import { inheritedEnv, killIfRunning, readUntil, textLines } from "./process.ts";

const MAIN = new URL("../../apps/webhooks/main.ts", import.meta.url).pathname;
/** What the app needs, no more: the permissions a deployment grants it. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];

export type AppProcess = {
  /** False when it ended before it listened (see `output`). */
  listening: boolean;
  port: number;
  /** Its stderr, line by line, collected until it ends. */
  output: string[];
  kill(signal: Deno.Signal): void;
  /** Waits for the process to end (kill it first) and for its output to be read. */
  finished(): Promise<Deno.CommandStatus>;
};

/** Starts a Deno program that logs a JSON "listening" line (with its port), and waits for it. */
export const startListening = async (
  args: string[],
  env: Record<string, string>,
): Promise<AppProcess> => {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env: { ...inheritedEnv(), ...env },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const reader = textLines(child.stderr).getReader();
  const line = await readUntil(reader, (line) => line.includes('"listening"'), output);
  const drained = readUntil(reader, () => false, output); // the rest, as it comes
  return {
    listening: line !== undefined,
    port: line === undefined ? 0 : JSON.parse(line).port,
    output,
    kill: (signal) => killIfRunning(child, signal),
    finished: async () => {
      const status = await child.status;
      await drained;
      return status;
    },
  };
};

/** apps/webhooks/main.ts with `env` (and nothing else of this process's environment). */
export const startWebhooksApp = (env: Record<string, string>, args: string[] = []) =>
  startListening(["run", ...PERMISSIONS, MAIN, ...args], env);
