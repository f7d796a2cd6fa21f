/**
 * docs/asyncapi.yaml (AsyncAPI 3.0) from the zod schemas in
 * application/shared/integration_events.ts, so the document cannot drift from the wire format
 * (tests/scripts/asyncapi_test.ts fails when it is stale).
 *
 * `deno run --allow-write=docs scripts/asyncapi.ts` rewrites docs/asyncapi.yaml.
 * @module
 */
import { z } from "zod";
import { DEAD_LETTER_HEADERS, deadLetterTopic, RETRY_HEADERS } from "../application/ports/bus.ts";
import * as events from "../application/shared/integration_events.ts";
import { HEADERS, TOPICS } from "../application/shared/integration_events.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MESSAGES = {
  PlanCreatedEvent: ["plans", "planId", "A plan was created in Nudges."],
  PlanUpdatedEvent: ["plans", "planId", "Fields of a plan were changed in Nudges (only those)."],
  PlanDeletedEvent: ["plans", "planId", "A plan was deleted in Nudges."],
  StripeProductCreatedEvent: [
    "plans",
    "planId",
    "A plan got its Stripe product: the product's id (stripeProductId) is linked to the plan.",
  ],
  PriceTierCreatedEvent: ["priceTiers", "priceTierId", "A price tier was created in Nudges."],
  PriceTierDeletedEvent: ["priceTiers", "priceTierId", "A price tier was deleted (archived)."],
  ClientCreatedEvent: ["clients", "clientId", "A client was created in Nudges."],
  ClientUpdatedEvent: [
    "clients",
    "clientId",
    "A client's name or email was changed in Nudges (only those).",
  ],
  PlanSubscriptionCancelRequestedEvent: [
    "planSubscriptions",
    "planSubscriptionId",
    "Nudges asks Stripe to cancel a subscription, at the end of its paid period or now.",
  ],
  StripeWebhookReceivedEvent: [
    "stripeEvents",
    "the Stripe object's id (data.object.id)",
    "A verified Stripe webhook event, recorded by the webhook endpoint.",
  ],
} as const satisfies Record<events.IntegrationEvent["type"], readonly [string, string, string]>;

const CHANNELS = {
  plans: "Plans as Nudges changes them. Consumed by the outbound Stripe sync.",
  priceTiers: "Price tiers as Nudges changes them. Consumed by the outbound Stripe sync.",
  clients: "Clients as Nudges creates and changes them. Consumed by the outbound Stripe sync.",
  planSubscriptions:
    "Cancellations Nudges asks of Stripe. Consumed by the outbound Stripe sync; Stripe's webhook confirms them.",
  stripeEvents: "Verified Stripe events, for the inbound consumer that turns them into commands.",
} as const satisfies Record<keyof typeof TOPICS, string>;

/** JSON Schema of a zod schema, without what only clutters the document. */
const schemaOf = (schema: z.ZodType): Json => {
  const tidy = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(tidy);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$schema") continue;
      if (key === "pattern" && node.format === "date-time") continue;
      if ((key === "minimum" || key === "maximum") && Math.abs(value as number) > 2 ** 52) continue;
      out[key] = tidy(value);
    }
    return out;
  };
  return tidy(z.toJSONSchema(schema) as Json);
};

const ref = (path: string): Json => ({ $ref: `#/${path}` });

export const asyncApiDocument = (): Json => {
  const channelOf = (type: keyof typeof MESSAGES) => MESSAGES[type][0];
  const types = Object.keys(MESSAGES) as (keyof typeof MESSAGES)[];
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  for (const [name, description] of Object.entries(CHANNELS)) {
    const channel = name as keyof typeof TOPICS;
    channels[channel] = {
      address: TOPICS[channel],
      description,
      messages: Object.fromEntries(
        types.filter((t) => channelOf(t) === channel).map((
          t,
        ) => [t, ref(`components/messages/${t}`)]),
      ),
    };
    const title = channel[0]!.toUpperCase() + channel.slice(1);
    operations[`publish${title}`] = {
      action: "send",
      channel: ref(`channels/${channel}`),
      summary: "The outbox publisher (application/outbox/), from the event store, at least once.",
    };
    operations[`receive${title}`] = {
      action: "receive",
      channel: ref(`channels/${channel}`),
      summary: channel === "stripeEvents"
        ? "The inbound consumer (application/inbound/)."
        : `The outbound Stripe sync (application/outbound/), group nudges.outbound.stripe.${
          TOPICS[channel]
        }.`,
    };
  }
  channels.deadLetters = {
    address: deadLetterTopic("{topic}"),
    description:
      "Messages a consumer gave up on (after its attempts, or at once on a PermanentFailure " +
      "such as a schema mismatch): same key, value and headers, plus why and where from.",
    parameters: { topic: { enum: Object.values(TOPICS), description: "The original topic." } },
    messages: { DeadLetter: ref("components/messages/DeadLetter") },
  };
  operations.deadLetter = {
    action: "send",
    channel: ref("channels/deadLetters"),
    summary: "Any consumer (adapters/bus), once it gives up on a message.",
  };

  const messages: Record<string, Json> = {};
  for (const type of types) {
    const [, key, summary] = MESSAGES[type];
    messages[type] = {
      name: type,
      title: type,
      summary,
      contentType: "application/json",
      correlationId: ref("components/correlationIds/correlationId"),
      headers: ref("components/schemas/Headers"),
      payload: schemaOf(events[type]),
      bindings: {
        kafka: {
          key: { type: "string", description: `The message key: ${key}. Keeps its order.` },
          bindingVersion: "0.5.0",
        },
      },
    };
  }
  messages.DeadLetter = {
    name: "DeadLetter",
    title: "Dead letter",
    summary: "The original message, as it was, with the dead-letter headers added.",
    headers: ref("components/schemas/DeadLetterHeaders"),
    payload: { description: "The original value, unchanged (possibly not even JSON)." },
  };

  const header = (description: string): Json => ({ type: "string", description });
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Nudges Stripe Sync: integration events",
      version: "1.0.0",
      description: "Every message Nudges puts on its bus, generated from " +
        "application/shared/integration_events.ts by scripts/asyncapi.ts. Delivery is at least " +
        "once and ordered per key; consumers dedupe on eventId. Each message carries a " +
        "version; a consumer dead-letters what does not parse. Events that came from " +
        "Stripe are never published on the outbound channels, so nothing echoes back.",
    },
    defaultContentType: "application/json",
    servers: {
      kafka: {
        host: "127.0.0.1:9092",
        protocol: "kafka",
        description: "Apache Kafka 4.x (KAFKA_BROKERS). Without it, the in-process bus " +
          "(adapters/bus/sqlite.ts) carries the same topics and messages.",
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: {
        Headers: {
          type: "object",
          required: Object.values(HEADERS),
          properties: {
            [HEADERS.type]: header("The message type, as in the payload's type."),
            [HEADERS.eventId]: header("The domain event's id: the dedupe key."),
            [HEADERS.correlationId]: header("The id of the request that started the chain."),
            [HEADERS.causationId]: header("The id of the message or request that caused it."),
            [RETRY_HEADERS.from]: header(
              "On a message sent back by `deno task dead-letters retry`: the dead letter's id.",
            ),
            [RETRY_HEADERS.group]: header(
              "With it: the consumer group that gave up on it. Only that group handles it again.",
            ),
          },
        },
        DeadLetterHeaders: {
          type: "object",
          description: "The original message's headers, and these.",
          required: Object.values(DEAD_LETTER_HEADERS).filter((h) =>
            h !== DEAD_LETTER_HEADERS.details && h !== DEAD_LETTER_HEADERS.at &&
            h !== DEAD_LETTER_HEADERS.value
          ),
          properties: {
            [DEAD_LETTER_HEADERS.error]: header("Why the last attempt failed."),
            [DEAD_LETTER_HEADERS.topic]: header("The topic it came from."),
            [DEAD_LETTER_HEADERS.partition]: header("The partition it came from."),
            [DEAD_LETTER_HEADERS.offset]: header("Its offset there."),
            [DEAD_LETTER_HEADERS.attempts]: header("How many times it was tried."),
            [DEAD_LETTER_HEADERS.group]: header("The consumer group that gave up."),
            [DEAD_LETTER_HEADERS.details]: header(
              "JSON: what the failure carried, e.g. the zod issues of a schema mismatch.",
            ),
            [DEAD_LETTER_HEADERS.at]: header(
              "When it was dead-lettered (ISO 8601); absent on letters written before it was kept.",
            ),
            [DEAD_LETTER_HEADERS.value]: header(
              '"omitted" on a note that stands in for a message too large for the bus: its ' +
                "payload says which event it was, and it cannot be sent back.",
            ),
          },
        },
      },
      correlationIds: {
        correlationId: {
          description: "Correlates every message and event of one request.",
          location: `$message.header#/${HEADERS.correlationId}`,
        },
      },
    },
  };
};

const KEY = /^[A-Za-z_$][A-Za-z0-9_.$-]*$/;
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./ -]*[A-Za-z0-9_./]$|^[A-Za-z]$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

const scalar = (value: Json): string => {
  if (typeof value === "string") {
    return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value);
};

/** YAML for JSON data: block style, strings quoted only where YAML needs it. */
export const toYaml = (value: Json, indent = ""): string => {
  const isEmpty = (v: Json) => v !== null && typeof v === "object" && Object.keys(v).length === 0;
  const inline = (v: Json) =>
    v === null || typeof v !== "object" ? scalar(v) : Array.isArray(v) ? "[]" : "{}";
  if (Array.isArray(value)) {
    return value.map((item) =>
      item !== null && typeof item === "object" && !isEmpty(item)
        ? `${indent}- ${toYaml(item, `${indent}  `).slice(indent.length + 2)}`
        : `${indent}- ${inline(item)}\n`
    ).join("");
  }
  if (value === null || typeof value !== "object") return `${indent}${scalar(value)}\n`;
  return Object.entries(value).map(([key, item]) => {
    const name = KEY.test(key) ? key : JSON.stringify(key);
    return item !== null && typeof item === "object" && !isEmpty(item)
      ? `${indent}${name}:\n${toYaml(item, `${indent}  `)}`
      : `${indent}${name}: ${inline(item)}\n`;
  }).join("");
};

export const ASYNCAPI_PATH = new URL("../docs/asyncapi.yaml", import.meta.url);

export const asyncApiYaml = (): string =>
  `# Generated by scripts/asyncapi.ts from application/shared/integration_events.ts: do not edit.\n` +
  toYaml(asyncApiDocument());

if (import.meta.main) {
  await Deno.writeTextFile(ASYNCAPI_PATH, asyncApiYaml());
  console.log(`wrote ${ASYNCAPI_PATH.pathname}`);
}
