/**
 * Mutation inputs as zod schemas: the edge's checks on top of GraphQL's types (lengths, id
 * shapes, enum casing), in the domain's terms. The domain then applies its own rules.
 * @module
 */
import { z } from "zod";

const text = (max: number) => z.string().max(max, `at most ${max} characters`);
/** Absent stays absent (no change); null becomes undefined too, for fields that cannot be null. */
const unlessNull = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);
const orNull = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? null);

export const Id = z.string().regex(
  /^[A-Za-z0-9_-]{1,64}$/,
  "must be an id: 1 to 64 letters, digits, '-' or '_'",
);

export const CreatePlanInput = z.object({
  name: text(250),
  description: orNull(text(5000)),
  iconUrl: orNull(text(2048)),
});

export const UpdatePlanInput = z.object({
  id: Id,
  name: unlessNull(text(250)),
  // For these null clears the field, absent leaves it as it is.
  description: text(5000).nullable().optional(),
  iconUrl: text(2048).nullable().optional(),
  isActive: unlessNull(z.boolean()),
  expectedVersion: unlessNull(z.number().int().min(0, "must be 0 or more")),
}).transform(({ id, ...rest }) => ({
  planId: id,
  ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)),
} as {
  planId: string;
  name?: string;
  description?: string | null;
  iconUrl?: string | null;
  isActive?: boolean;
  expectedVersion?: number;
}));

export const CreatePriceTierInput = z.object({
  planId: Id,
  name: orNull(text(250)),
  unitAmount: z.number().int(),
  // ISO 4217 codes are lower case in Nudges and Stripe; "USD" is taken to mean "usd".
  currency: z.string().trim().toLowerCase(),
  interval: orNull(z.enum(["DAY", "WEEK", "MONTH", "YEAR"]))
    .transform((interval) =>
      interval && (interval.toLowerCase() as "day" | "week" | "month" | "year")
    ),
  intervalCount: orNull(z.number().int()),
});

export const CreateClientInput = z.object({
  name: text(250),
  email: text(512),
});

/**
 * A stream of Nudges' own. "$"-streams are EventStoreDB's system streams (its settings, stream
 * metadata "$$…", subscriber checkpoints, statistics): not Nudges' history to show.
 */
export const StreamId = z.string().min(1, "must not be empty").max(200, "at most 200 characters")
  .refine((id) => !id.startsWith("$"), "must not start with $ (EventStoreDB's system streams)");
