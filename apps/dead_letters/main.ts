/**
 * `deno task dead-letters list|retry`: the dead-lettered messages of the apps' bus, and
 * sending them back (application/dead_letters/; see USAGE). Reads KAFKA_BROKERS and
 * DATA_DIR only; prints no secret.
 * @module
 */
import { join } from "node:path";
import {
  listDeadLetters,
  NoSuchDeadLetter,
  retryDeadLetters,
} from "../../application/dead_letters/dead_letters.ts";
import {
  type DeadLettersOptions,
  parseDeadLettersOptions,
  USAGE,
  UsageError,
} from "../../application/dead_letters/options.ts";
import {
  letterJson,
  listText,
  retryJson,
  retryText,
} from "../../application/dead_letters/report.ts";
import { silentLogger } from "../../application/ports/logger.ts";
import { ConfigError, loadConfig } from "../config.ts";
import { err, out } from "../terminal.ts";
import { DATA_FILES, openBus } from "../wiring.ts";

/** Pointed at a folder without the apps' bus, say so rather than make an empty one. */
class NoBus extends Error {
  override name = "NoBus";
}

let options: DeadLettersOptions;
try {
  options = parseDeadLettersOptions(Deno.args);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  err(`dead-letters: ${error.message}\n\n${USAGE}\n`);
  Deno.exit(2);
}
if (options.command === "help") {
  out(USAGE + "\n");
  Deno.exit(0);
}

let code = 0;
try {
  // dev: the tool needs no secret, so none is asked for (and the made-up ones are never shown).
  const config = loadConfig({
    DATA_DIR: Deno.env.get("DATA_DIR"),
    KAFKA_BROKERS: Deno.env.get("KAFKA_BROKERS"),
  }, { dev: true });
  if (config.kafkaBrokers === null) {
    const path = join(config.dataDir, DATA_FILES.bus);
    if (!(await Deno.stat(path).then((s) => s.isFile, () => false))) {
      throw new NoBus(`no bus file at ${path}: set DATA_DIR to the apps' data folder`);
    }
  }
  const bus = await openBus(config, "nudges-dead-letters", silentLogger);
  try {
    if (options.command === "list") {
      const letters = await listDeadLetters(bus, { topic: options.topic });
      out(
        options.json ? JSON.stringify(letters.map(letterJson), null, 2) + "\n" : listText(letters),
      );
    } else {
      const result = await retryDeadLetters(bus, { topic: options.topic, id: options.id });
      out(options.json ? JSON.stringify(retryJson(result), null, 2) + "\n" : retryText(result));
    }
  } finally {
    await bus.close();
  }
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NoSuchDeadLetter || error instanceof ConfigError || error instanceof NoBus) {
    err(`dead-letters: ${message}\n`);
  } else err(`dead-letters: failed: ${message}\n`);
  code = 1;
}
Deno.exit(code);
