// Runs apps/webhooks/main.ts as its own process, as it runs in production, for tests and
// benchmarks that talk to it over a socket.

const MAIN = new URL("../../apps/webhooks/main.ts", import.meta.url).pathname;
/** What the app needs, no more: the permissions a deployment grants it. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];

const inherited = () => {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
};

const lines = () => {
  let rest = "";
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (rest) controller.enqueue(rest);
    },
  });
};

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
    env: { ...inherited(), ...env },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(lines())
    .getReader();
  let port = 0;
  let listening = false;
  while (!listening) {
    const { done, value } = await reader.read();
    if (done) break;
    output.push(value);
    if (value.includes('"listening"')) {
      listening = true;
      port = JSON.parse(value).port;
    }
  }
  const drained = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      output.push(value);
    }
  })();
  return {
    listening,
    port,
    output,
    kill: (signal) => {
      try {
        child.kill(signal);
      } catch {
        // it has ended already
      }
    },
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
