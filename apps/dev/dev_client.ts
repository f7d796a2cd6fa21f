/**
 * What the dev commands (`deno task checkout`) share: finding the running `deno task dev`
 * through DATA_DIR, its GraphQL API with the dev token, and its Stripe simulator.
 * @module
 */
import { join } from "node:path";
import { readRunFile } from "./run_file.ts";
import { DEV_SECRETS_FILE } from "./secrets.ts";

/** The simulator takes any test-mode key; this one is no secret. */
const SIMULATOR_KEY = "sk_test_nudges_dev_checkout";

/** A refusal to print as it is, without a stack. */
export class DevCommandError extends Error {
  override name = "DevCommandError";
}

const token = async (dataDir: string): Promise<string | null> => {
  const given = Deno.env.get("PRODUCT_API_TOKEN");
  if (given) return given;
  try {
    const kept = JSON.parse(await Deno.readTextFile(join(dataDir, DEV_SECRETS_FILE)));
    return typeof kept.PRODUCT_API_TOKEN === "string" ? kept.PRODUCT_API_TOKEN : null;
  } catch {
    return null; // queries are answered without it
  }
};

const reach = async (what: string, url: string, init: RequestInit) => {
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new DevCommandError(
      `cannot reach the ${what} at ${url} (${(error as Error).message}): is deno task dev running?`,
    );
  }
};

export type DevRun = {
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
  /** POSTs to one of the simulator's /dev routes; Stripe's object in the answer. */
  simulator(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
};

export const devRun = async (): Promise<DevRun> => {
  const dataDir = Deno.env.get("DATA_DIR") || "./data";
  const run = await readRunFile(dataDir);
  if (run === null) {
    throw new DevCommandError(
      `no dev run under DATA_DIR=${dataDir}: start deno task dev first (with the same DATA_DIR)`,
    );
  }
  const simulatorUrl = run.stripeSimulator;
  if (simulatorUrl === null) {
    throw new DevCommandError(
      "deno task dev talks to Stripe (STRIPE_API_KEY is set), not the simulator: complete a " +
        "test-mode Checkout Session in Stripe instead (see README.md, Against Stripe)",
    );
  }
  const bearer = await token(dataDir);
  return {
    async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      const response = await reach("product API", run.graphql, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const answer = await response.json();
      if (answer.errors) {
        throw new DevCommandError(`the product API refused: ${JSON.stringify(answer.errors)}`);
      }
      return answer.data;
    },
    async simulator(path, body) {
      const response = await reach("Stripe simulator", `${simulatorUrl}/dev/${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${SIMULATOR_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) {
        throw new DevCommandError(`the Stripe simulator refused: ${answer.error?.message}`);
      }
      return answer;
    },
  };
};

/** Asks `check` every 200 ms until it answers something, for at most `ms`. */
export const waitFor = async <T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 30_000,
): Promise<T> => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new DevCommandError(
    `${what} did not show within ${ms / 1000} s: see the log of deno task dev`,
  );
};
