// How the Kafka bus cuts a publish into requests (splitByBytes): in order, none over the
// limit unless one message alone is.
import assert from "node:assert/strict";
import { splitByBytes } from "../../../adapters/bus/kafka.ts";
import { messageBytes, type OutgoingMessage } from "../../../application/ports/bus.ts";

const message = (i: number, size: number): OutgoingMessage => ({
  topic: "t",
  key: `k${i}`,
  value: "x".repeat(size),
});

Deno.test("splitByBytes() keeps the order and puts no more than the limit in a request", () => {
  const messages = Array.from({ length: 50 }, (_, i) => message(i, 1000 + (i % 7) * 300));
  const runs = splitByBytes(messages, 10_000);
  assert.deepEqual(runs.flat(), messages);
  assert.ok(runs.length > 1);
  for (const run of runs) {
    assert.ok(run.reduce((sum, m) => sum + messageBytes(m), 0) <= 10_000);
  }
});

Deno.test("splitByBytes() sends a message over the limit alone, and an empty batch as nothing", () => {
  const runs = splitByBytes([message(0, 10), message(1, 50_000), message(2, 10)], 10_000);
  assert.deepEqual(runs.map((run) => run.map((m) => m.key)), [["k0"], ["k1"], ["k2"]]);
  assert.deepEqual(splitByBytes([], 10_000), []);
});
