/**
 * Data files that only their owner can read: client emails, Stripe payloads and secrets live
 * in them. Folders are created 0700 and files 0600, whatever the umask would give. SQLite
 * gives the -wal, -shm and -journal files it makes the mode of their database file, so a
 * database file created empty with 0600 before SQLite opens it keeps its companions private
 * too. Files made before this rule are tightened when opened. An existing folder is left as
 * it is: DATA_DIR may be one the user chose for other things as well.
 * @module
 */
import { dirname } from "node:path";

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Windows has no such modes; Deno's chmod throws there. */
const POSIX = Deno.build.os !== "windows";

/** Creates `dir` and any missing parent owner-only; an existing folder is left unchanged. */
export const makeOwnerOnlyDir = (dir: string): void => {
  Deno.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
};

/**
 * Makes way for a file at `path`: its folder (as makeOwnerOnlyDir), and the file itself,
 * empty and 0600, when there is none. An existing file is left as it is.
 */
export const createOwnerOnlyFile = (path: string): void => {
  makeOwnerOnlyDir(dirname(path));
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: FILE_MODE }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
};

/** Tightens a SQLite database file and the companions beside it to 0600 where looser. */
export const tightenSqliteFiles = (path: string): void => {
  if (!POSIX) return;
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let mode: number | null;
    try {
      mode = Deno.statSync(file).mode;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(file, FILE_MODE);
  }
};
