import assert from "node:assert/strict";
import { taskArgs } from "./app_process.ts";

// Listed one by one: the apps open sockets, read their settings and keep SQLite files
// under DATA_DIR. Neither can be narrowed to names (DATA_DIR, hosts and ports are
// configured; npm clients read variables of their own), but nothing else is granted:
// no subprocesses, no FFI, no system information.
Deno.test("each app's deno task grants network, environment and files, nothing more", async () => {
  for (const app of ["product_api", "kafka_consumer", "webhooks"] as const) {
    assert.deepEqual(await taskArgs(app), [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      `apps/${app}/main.ts`,
    ], app);
  }
});
