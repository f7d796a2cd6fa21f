/**
 * Log fields that follow a unit of work (one bus message) through every await, so a line
 * logged anywhere while it is handled carries its correlation id, though the code that
 * logs was handed its logger long before the message arrived.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { LogFields, Logger } from "../../application/ports/logger.ts";

const context = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` added to every line a contextLogger writes meanwhile. */
export const withLogFields = <T>(fields: LogFields, work: () => T): T =>
  context.run({ ...context.getStore(), ...fields }, work);

/** `logger`, adding the fields of the unit of work in progress (a line's own fields win). */
export const contextLogger = (logger: Logger): Logger => {
  const at =
    (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: LogFields) => {
      const current = context.getStore();
      logger[level](message, current ? { ...current, ...fields } : fields);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    with: (fields) => contextLogger(logger.with(fields)),
  };
};
