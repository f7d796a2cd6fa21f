/**
 * JSON lines on stderr. Secrets never reach a log: values of secret-looking keys and
 * any text that contains a known secret are masked before a line is written.
 * @module
 */
import type { LogFields, Logger } from "../../application/ports/logger.ts";

type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /secret|token|password|authorization|api_?key|signature/i;
// Stripe keys and webhook secrets, wherever they turn up in a text.
const SECRET_TEXT = /\b(sk|rk)_(test|live)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9_]+/g;

export type JsonLoggerOptions = {
  level?: Level;
  /** Exact secret values to mask wherever they appear (the configured tokens and keys). */
  secrets?: readonly string[];
  write?: (line: string) => void;
  clock?: () => string;
};

export const jsonLogger = (
  { level = "info", secrets = [], write, clock = () => new Date().toISOString() }:
    JsonLoggerOptions = {},
  bound: LogFields = {},
): Logger => {
  const known = secrets.filter((s) => s.length >= 8);
  const maskText = (text: string) =>
    known.reduce((t, s) => t.replaceAll(s, "[redacted]"), text).replace(SECRET_TEXT, "[redacted]");
  const mask = (value: unknown, key = ""): unknown => {
    if (SECRET_KEY.test(key) && value !== undefined && value !== null) return "[redacted]";
    if (typeof value === "string") return maskText(value);
    if (value instanceof Error) return { name: value.name, message: maskText(value.message) };
    if (Array.isArray(value)) return value.map((v) => mask(v));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
    }
    return value;
  };
  const out = write ?? ((line: string) => console.error(line));
  const log = (lvl: Level) => (message: string, fields: LogFields = {}) => {
    if (RANK[lvl] < RANK[level]) return;
    out(JSON.stringify({
      time: clock(),
      level: lvl,
      message: maskText(message),
      ...(mask({ ...bound, ...fields }) as LogFields),
    }));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    with: (fields) => jsonLogger({ level, secrets, write, clock }, { ...bound, ...fields }),
  };
};
