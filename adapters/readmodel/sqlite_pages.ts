/**
 * Pages and counts of the SQLite read model: one statement each, prepared once per shape of
 * filter. A filter field is the parent column or an indexed json_extract of the document
 * (sqlite.ts creates those indexes from FILTER_FIELDS), so a page is one index range.
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import {
  type Collection,
  type Filter,
  FILTER_FIELDS,
  type Page,
  type PageRequest,
  PARENT_FIELD,
  type Views,
} from "../../application/ports/read_model.ts";

/** The SQL expression a filter field is read (and indexed) by. */
export const filterColumn = (collection: Collection, field: string): string => {
  if (field === PARENT_FIELD[collection]) return "parent";
  if (!(FILTER_FIELDS[collection] as readonly string[]).includes(field) || !/^\w+$/.test(field)) {
    throw new Error(`${collection} cannot be filtered on ${field}`);
  }
  return `json_extract(doc, '$.${field}')`;
};

// json_extract answers 1 and 0 for JSON true and false.
const bound = (value: string | boolean): SQLInputValue =>
  typeof value === "boolean" ? Number(value) : value;

/** The WHERE conditions of a filter and the values they bind, in the same order. */
const conditions = <C extends Collection>(collection: C, where: Filter<C> = {}) => {
  const entries = Object.entries(where as Record<string, string | boolean | null | undefined>)
    .filter((entry): entry is [string, string | boolean | null] => entry[1] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  return {
    sql: entries.map(([field, value]) =>
      `${filterColumn(collection, field)} ${value === null ? "IS NULL" : "= ?"}`
    ),
    values: entries.flatMap(([, value]) => value === null ? [] : [bound(value)]),
  };
};

/** The statements of a page and of a count: (after, ...filter values, limit) and (...values). */
export const pageSql = <C extends Collection>(table: string, collection: C, where?: Filter<C>) => {
  const { sql } = conditions(collection, where);
  return {
    page: `SELECT seq, doc FROM ${table} WHERE ${["seq > ?", ...sql].join(" AND ")} ` +
      "ORDER BY seq LIMIT ?",
    count: `SELECT count(*) AS n FROM ${table}` +
      (sql.length > 0 ? ` WHERE ${sql.join(" AND ")}` : ""),
  };
};

export const pageQueries = (db: DatabaseSync, table: (collection: Collection) => string) => {
  const prepared = new Map<string, StatementSync>();
  const statement = (sql: string) => {
    let found = prepared.get(sql);
    if (!found) prepared.set(sql, found = db.prepare(sql));
    return found;
  };

  return {
    page<C extends Collection>(collection: C, { after, first, where }: PageRequest<C>): Page<C> {
      const { values } = conditions(collection, where);
      const rows = statement(pageSql(table(collection), collection, where).page)
        .all(after, ...values, first + 1) as { seq: number; doc: string }[];
      return {
        items: rows.slice(0, first).map(({ seq, doc }) => ({
          rank: Number(seq),
          doc: JSON.parse(doc) as Views[C],
        })),
        hasNextPage: rows.length > first,
      };
    },
    count<C extends Collection>(collection: C, where?: Filter<C>): number {
      const { values } = conditions(collection, where);
      const row = statement(pageSql(table(collection), collection, where).count)
        .get(...values) as { n: number };
      return Number(row.n);
    },
  };
};
