/**
 * Dev mode makes up the secrets the environment does not give, and keeps them in
 * DATA_DIR/dev_secrets.json (owner-only), so that a restart keeps the token the UI holds,
 * and the webhook code and signing secret of the webhooks the simulator still has to send.
 * A secret given in the environment is used as given, and never written here.
 * @module
 */
import { join } from "node:path";
import { makeOwnerOnlyDir } from "../../adapters/files/owner_only.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";

export const DEV_SECRETS_FILE = "dev_secrets.json";

type Env = Record<string, string | undefined>;

const readKept = (path: string): Record<string, string> => {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return {};
    throw error;
  }
  const refuse = (why: string) =>
    new ConfigError(`${path} ${why}: delete it and dev mode makes up new secrets`);
  let kept: unknown;
  try {
    kept = JSON.parse(text);
  } catch {
    throw refuse("is not JSON");
  }
  if (
    typeof kept !== "object" || kept === null || Array.isArray(kept) ||
    Object.values(kept).some((value) => typeof value !== "string")
  ) {
    throw refuse("is not an object of texts");
  }
  return kept as Record<string, string>;
};

/** Written whole to a new owner-only file, then renamed over the old one: never half-written. */
const writeKept = (path: string, secrets: Record<string, string>) => {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(temp, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  Deno.renameSync(temp, path);
};

/**
 * The dev configuration: the environment's values, and for each secret it lacks the one
 * made up on an earlier start (or a new one, then kept). `madeUp` lists them all, to print.
 */
export const loadDevConfig = (env: Env): Config => {
  const fresh = loadConfig(env, { dev: true });
  if (Object.keys(fresh.madeUp).length === 0) return fresh;
  const path = join(fresh.dataDir, DEV_SECRETS_FILE);
  const kept = readKept(path);
  const madeUp = Object.fromEntries(
    Object.entries(fresh.madeUp).map(([name, value]) => [name, kept[name] ?? value]),
  );
  let config: Config;
  try {
    config = loadConfig({ ...env, ...madeUp }, { dev: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`${path}: ${error.message}`);
  }
  if (Object.entries(madeUp).some(([name, value]) => kept[name] !== value)) {
    makeOwnerOnlyDir(fresh.dataDir);
    writeKept(path, { ...kept, ...madeUp });
  }
  return { ...config, madeUp };
};
