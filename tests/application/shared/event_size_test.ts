// An event too large for the bus is refused when it is appended, with an error its caller
// sees, and nothing is written: through the command handler, the webhook record, and the
// webhook endpoint (which answers 413).
import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { webhookHandler } from "../../../adapters/http/webhooks.ts";
import { silentLogger } from "../../../application/ports/logger.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import { MAX_EVENT_BYTES } from "../../../application/shared/event_size.ts";
import {
  recordStripeWebhook,
  StripeEventTooLarge,
} from "../../../application/inbound/webhook_record.ts";
import { type Decider, DomainError } from "../../../domain/decider.ts";
import {
  API_KEY,
  NOW,
  product,
  SECRET,
  signedRequest,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";

type Note = { type: "NoteWritten"; data: { text: string } };
const notes: Decider<{ type: "Write"; data: { text: string } }, Note, null> = {
  initialState: () => null,
  decide: (command) => [{ type: "NoteWritten", data: { text: command.data.text } }],
  evolve: () => null,
};
const metadata = {
  correlationId: "c",
  causationId: "c",
  cause: { kind: "system", reason: "test" },
} as const;

Deno.test("handleCommand() refuses an event too large for the bus, as EventTooLarge, and appends nothing", async () => {
  const store = memoryEventStore();
  const write = (text: string) =>
    handleCommand(store, notes, "note-1", { type: "Write", data: { text } }, { metadata });
  await assert.rejects(write("x".repeat(MAX_EVENT_BYTES)), (error) => {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, "EventTooLarge");
    assert.equal(error.kind, "invalid");
    assert.match(
      error.message,
      /NoteWritten for note-1 would hold \d+ bytes; an event holds at most/,
    );
    return true;
  });
  assert.deepEqual(await store.readAll(), []);
  await write("x".repeat(MAX_EVENT_BYTES - 100)); // just under: taken
  assert.equal((await store.readAll()).length, 1);
});

Deno.test("handleCommand() counts the limit in UTF-8 bytes, not characters", async () => {
  const store = memoryEventStore();
  const text = "é".repeat(Math.ceil(MAX_EVENT_BYTES / 2) + 10); // under in characters, over in bytes
  await assert.rejects(
    handleCommand(store, notes, "note-1", { type: "Write", data: { text } }, { metadata }),
    /EventTooLarge|would hold/,
  );
  assert.deepEqual(await store.readAll(), []);
});

const bigProductEvent = () =>
  stripeEvent(
    "product.created",
    product({ id: "prod_big", description: "d".repeat(MAX_EVENT_BYTES) }),
  );

Deno.test("recordStripeWebhook() refuses a Stripe event too large for the bus and records nothing", async () => {
  const store = memoryEventStore();
  await assert.rejects(recordStripeWebhook(store, bigProductEvent()), StripeEventTooLarge);
  assert.deepEqual(await store.readAll(), []);
});

Deno.test("the webhook endpoint answers 413 for a signed event too large for the bus, and records nothing", async () => {
  const store = memoryEventStore();
  const handle = webhookHandler({
    store,
    secret: SECRET,
    apiKey: API_KEY,
    clock: () => NOW,
    logger: silentLogger,
  });
  const response = await handle(await signedRequest(JSON.stringify(bigProductEvent())));
  assert.equal(response.status, 413);
  assert.match((await response.json()).error, /StripeWebhookReceived .* would hold \d+ bytes/);
  assert.deepEqual(await store.readAll(), []);
});
