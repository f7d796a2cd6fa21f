// `deno task checkout` refusals; a checkout that goes through is in dev_test.ts.
import assert from "node:assert/strict";
import { runTask } from "./dev_process.ts";

Deno.test("deno task checkout without its arguments says what it needs", async () => {
  const { code, stderr } = await runTask("checkout", ["--client", "c1"], {});
  assert.equal(code, 1);
  assert.match(stderr, /--client and --tier are required/);
  assert.match(stderr, /usage: deno task checkout --client <client id> --tier <price tier id>/);
});

Deno.test("deno task checkout with no dev run in DATA_DIR says to start deno task dev", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dev_checkout_" });
  try {
    const { code, stderr } = await runTask("checkout", ["--client", "c1", "--tier", "t1"], {
      DATA_DIR: dir,
    });
    assert.equal(code, 1);
    assert.match(stderr, /no dev run under DATA_DIR=.*: start deno task dev first/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
