/**
 * DATA_DIR/dev_run.json: where a running `deno task dev` listens, so that the dev commands
 * (deno task checkout) find it, the simulator's port included, which is picked at start.
 * Written once everything listens, removed at a clean stop.
 * @module
 */
import { join } from "node:path";
import type { DevUrls } from "./banner.ts";

export const DEV_RUN_FILE = "dev_run.json";

export const writeRunFile = async (dataDir: string, urls: DevUrls): Promise<void> => {
  const path = join(dataDir, DEV_RUN_FILE);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify({ pid: Deno.pid, ...urls }, null, 2) + "\n", {
    mode: 0o600,
  });
  await Deno.rename(temp, path);
};

export const removeRunFile = async (dataDir: string): Promise<void> => {
  await Deno.remove(join(dataDir, DEV_RUN_FILE)).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
};

/** The URLs of the dev run under `dataDir`; null when none has started there. */
export const readRunFile = async (dataDir: string): Promise<DevUrls | null> => {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dataDir, DEV_RUN_FILE));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  const run = JSON.parse(text) as Partial<DevUrls>;
  if (typeof run.graphql !== "string" || typeof run.webhooks !== "string") {
    throw new Error(`${join(dataDir, DEV_RUN_FILE)} is not what deno task dev writes`);
  }
  return run as DevUrls;
};
