/**
 * The options of `deno task dead-letters`, checked before anything is opened.
 * @module
 */

export type DeadLettersOptions =
  | { command: "help" }
  | { command: "list"; topic?: string; json: boolean }
  | { command: "retry"; topic?: string; id?: string; json: boolean };

export const USAGE = `Usage: deno task dead-letters list [--topic T] [--json]
       deno task dead-letters retry [--topic T] [--id ID] [--json]

Messages a consumer group gave up on wait in dead-letter topics (<topic>.dead-letter),
with the reason.

  list     every dead letter: id, topic, key, reason, attempts, when, the group that
           gave up, and whether it was sent back
  retry    send the dead letters back to their topic, once each: a letter sent back is
           marked, and a second retry sends it no more; only the group that gave up on it
           handles it again

Options:
  --topic T    only the dead letters of topic T (or of the dead-letter topic T)
  --id ID      retry only this letter (an id as list shows it)
  --json       machine-readable output on stdout
  -h, --help   this text

The bus is the one the apps use: KAFKA_BROKERS, else the SQLite file under DATA_DIR
(default ./data); safe while the apps run.
Exit codes: 0 done, 1 failure (a bus that does not answer, an id no topic keeps),
2 bad options.`;

export class UsageError extends Error {
  override name = "UsageError";
}

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** The options in `args`; throws UsageError saying what is wrong. */
export const parseDeadLettersOptions = (args: readonly string[]): DeadLettersOptions => {
  if (args.some((arg) => arg === "-h" || arg === "--help")) return { command: "help" };
  const [command, ...rest] = args;
  if (command !== "list" && command !== "retry") {
    throw new UsageError(
      command === undefined
        ? "say list or retry"
        : `unknown command "${command}": say list or retry`,
    );
  }
  let topic: string | undefined;
  let id: string | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = () => {
      const next = rest[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--json") json = true;
    else if (arg === "--topic") {
      topic = value();
      if (!TOPIC.test(topic)) throw new UsageError(`--topic: "${topic}" is not a topic name`);
    } else if (arg === "--id" && command === "retry") {
      id = value();
      if (!/^[a-zA-Z0-9._-]+:\d+:\d+$/.test(id)) {
        throw new UsageError(
          `--id: "${id}" is not a dead letter's id (<topic>:<partition>:<offset>)`,
        );
      }
    } else throw new UsageError(`unknown option "${arg}" for ${command}`);
  }
  return command === "list" ? { command, topic, json } : { command, topic, id, json };
};
