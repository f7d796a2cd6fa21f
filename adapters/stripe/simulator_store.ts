/**
 * What the Stripe simulator keeps: its Stripe objects, the answers to idempotent
 * requests and the webhooks still to deliver, as JSON rows in SQLite (node:sqlite), on a
 * file when a path is given (a dev restart continues) or in memory. One request's
 * changes are one transaction, so a crash keeps all of them or none.
 * @module
 */
import { createOwnerOnlyFile, tightenSqliteFiles } from "../files/owner_only.ts";
import { DatabaseSync } from "node:sqlite";

export type Kind =
  | "product"
  | "price"
  | "customer"
  | "checkout.session"
  | "checkout.basket"
  | "subscription"
  | "invoice"
  | "idempotency"
  | "delivery"
  // Read back by reconcile and the webhook endpoint command (simulator_reading.ts).
  | "subscription"
  | "event"
  | "webhook_endpoint";

/** A row to write; `value: null` deletes it. */
export type Change = { kind: Kind; id: string; value: unknown };

export type SimulatorStore = {
  get<T>(kind: Kind, id: string): T | null;
  /** Oldest first. */
  list<T>(kind: Kind): T[];
  write(changes: readonly Change[]): void;
  close(): void;
};

const SCHEMA = `CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, id))`;

export const openSimulatorStore = (path?: string): SimulatorStore => {
  // Owner-only, as every data file (adapters/files/owner_only.ts).
  if (path !== undefined) createOwnerOnlyFile(path);
  const db = new DatabaseSync(path ?? ":memory:");
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    if (path !== undefined) db.exec("PRAGMA journal_mode = WAL");
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw new Error(`${path} is not a Stripe simulator store: ${(error as Error).message}`);
  }
  if (path !== undefined) tightenSqliteFiles(path);
  const get = db.prepare("SELECT json FROM records WHERE kind = ? AND id = ?");
  // Upserts keep the rowid, so lists stay in creation order.
  const put = db.prepare(
    "INSERT INTO records (kind, id, json) VALUES (?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json",
  );
  const remove = db.prepare("DELETE FROM records WHERE kind = ? AND id = ?");
  const list = db.prepare("SELECT json FROM records WHERE kind = ? ORDER BY rowid");
  return {
    get: <T>(kind: Kind, id: string) => {
      const row = get.get(kind, id) as { json: string } | undefined;
      return row === undefined ? null : JSON.parse(row.json) as T;
    },
    list: <T>(kind: Kind) =>
      (list.all(kind) as { json: string }[]).map((row) => JSON.parse(row.json) as T),
    write: (changes) => {
      db.exec("BEGIN IMMEDIATE");
      try {
        for (const { kind, id, value } of changes) {
          if (value === null) remove.run(kind, id);
          else put.run(kind, id, JSON.stringify(value));
        }
        db.exec("COMMIT");
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      }
    },
    close: () => db.close(),
  };
};
