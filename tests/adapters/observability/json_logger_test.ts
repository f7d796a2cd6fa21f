import assert from "node:assert/strict";
import { jsonLogger } from "../../../adapters/observability/json_logger.ts";

const capture = (secrets: string[] = []) => {
  const lines: Record<string, unknown>[] = [];
  const logger = jsonLogger({
    secrets,
    write: (line) => lines.push(JSON.parse(line)),
    clock: () => "2026-01-01T00:00:00.000Z",
  });
  return { logger, lines };
};

Deno.test("jsonLogger() writes one JSON line with the bound and given fields", () => {
  const { logger, lines } = capture();
  logger.with({ correlationId: "c-1" }).info("plan created", { planId: "p-1" });
  assert.deepEqual(lines, [{
    time: "2026-01-01T00:00:00.000Z",
    level: "info",
    message: "plan created",
    correlationId: "c-1",
    planId: "p-1",
  }]);
});

Deno.test("jsonLogger() never writes a secret, by key, by value or by shape", () => {
  const { logger, lines } = capture(["configured-token-123"]);
  logger.error("call failed with sk_test_abcDEF123 and configured-token-123", {
    headers: { authorization: "Bearer configured-token-123" },
    webhookSecret: "whsec_xyz",
    error: new Error("whsec_abc123 refused"),
    nested: ["rk_live_999"],
  });
  const text = JSON.stringify(lines);
  for (
    const secret of [
      "sk_test_abcDEF123",
      "configured-token-123",
      "whsec_xyz",
      "whsec_abc123",
      "rk_live_999",
    ]
  ) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.match(text, /call failed with \[redacted\]/);
});

Deno.test("jsonLogger() drops lines below its level", () => {
  const lines: string[] = [];
  const logger = jsonLogger({ level: "warn", write: (line) => lines.push(line) });
  logger.info("quiet");
  logger.warn("loud");
  assert.equal(lines.length, 1);
});
