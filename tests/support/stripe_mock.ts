// Stripe's stripe-mock for tests: STRIPE_MOCK_URL when set (CI starts one), else a
// stripe-mock binary found on PATH or in ~/go/bin, started on a free port and stopped
// after; else the tests that need it are skipped with a line saying why.
import { killIfRunning, readUntil, textLines } from "./process.ts";

export type StripeMock = { url: string; stop(): Promise<void> };

const executable = (path: string): boolean => {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
};

/** The stripe-mock binary, or null when there is none. */
export const stripeMockBinary = (): string | null => {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  const home = Deno.env.get("HOME");
  if (home) dirs.push(`${home}/go/bin`);
  return dirs.map((d) => `${d}/stripe-mock`).find(executable) ?? null;
};

/** Why stripe-mock tests cannot run here, or null when they can. */
export const stripeMockUnavailable = (): string | null =>
  Deno.env.get("STRIPE_MOCK_URL") || stripeMockBinary()
    ? null
    : "STRIPE_MOCK_URL is unset and no stripe-mock binary is on PATH or in ~/go/bin " +
      "(go install github.com/stripe/stripe-mock@v0.203.0)";

/** Prints one line when the tests of this file are skipped; returns the `ignore:` flag. */
export const skipUnlessStripeMock = (what: string): boolean => {
  const reason = stripeMockUnavailable();
  if (reason) console.log(`skipping ${what}: ${reason}`);
  return reason !== null;
};

const answers = async (url: string): Promise<boolean> => {
  try {
    const response = await fetch(`${url}/v1/products?limit=1`, {
      headers: { authorization: "Bearer sk_test_123" },
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
};

/** Reads the child's output until stripe-mock names the port it listens on. */
const listeningPort = async (stdout: ReadableStream<Uint8Array>): Promise<number> => {
  const LISTENING = /Listening for HTTP at address: \S*:(\d+)/;
  const lines = textLines(stdout);
  const reader = lines.getReader();
  const seen: string[] = [];
  try {
    const line = await readUntil(reader, (line) => LISTENING.test(line), seen);
    if (line === undefined) {
      throw new Error(`stripe-mock exited before listening:\n${seen.join("\n")}`);
    }
    return Number(line.match(LISTENING)![1]);
  } finally {
    // Let the rest of its output drain so the pipe never fills up.
    reader.releaseLock();
    lines.pipeTo(new WritableStream()).catch(() => {});
  }
};

/** Starts stripe-mock (or uses STRIPE_MOCK_URL) and waits until it answers. */
export const startStripeMock = async (): Promise<StripeMock> => {
  const given = Deno.env.get("STRIPE_MOCK_URL");
  if (given) return { url: given.replace(/\/$/, ""), stop: () => Promise.resolve() };
  const binary = stripeMockBinary();
  if (!binary) throw new Error(stripeMockUnavailable()!);
  // Port 0: the system picks a free port, which stripe-mock prints.
  const child = new Deno.Command(binary, {
    args: ["-http-port", "0"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    killIfRunning(child, "SIGTERM");
    await child.status;
  };
  try {
    const url = `http://127.0.0.1:${await listeningPort(child.stdout)}`;
    for (let i = 0; !(await answers(url)); i++) {
      if (i >= 100) throw new Error(`stripe-mock at ${url} does not answer`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
};
