import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

for (const app of ["product_api", "webhooks", "kafka_consumer", "dev"]) {
  Deno.test(`deno task ${app} --help prints its usage and starts nothing`, async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", app, "--help"],
      cwd: ROOT,
      // No secrets and no DATA_DIR: an app that started would refuse or create files.
      env: { NO_COLOR: "1", DATA_DIR: "/nonexistent/nudges-help-test" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, new RegExp(`^Usage: deno task ${app}`, "m"));
    assert.match(stdout, /environment variables/);
  });
}
