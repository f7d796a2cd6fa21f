/**
 * Request parameters as the stripe SDK sends them, form-encoded (metadata[k]=v,
 * images[0]=…, expand[]=…), validated with Stripe's words for what is wrong.
 * @module
 */
import { z } from "zod";
import { ApiError } from "./simulator_objects.ts";

/** `a[b][0]=x&a[c][]=y` → `{ a: { b: ["x"], c: ["y"] } }`. */
export const parseForm = (pairs: URLSearchParams): Record<string, unknown> => {
  const root: Record<string, unknown> = Object.create(null);
  for (const [key, value] of pairs) {
    const match = key.match(/^([^[\]]+)((?:\[[^[\]]*\])*)$/);
    if (match === null) throw new ApiError(400, `Invalid parameter name: ${key}`);
    const names = [match[1]!, ...[...match[2]!.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!)];
    let node = root;
    names.forEach((name, i) => {
      const k = name === "" ? String(Object.keys(node).length) : name;
      if (i === names.length - 1) node[k] = value;
      else {
        if (typeof node[k] !== "object") node[k] = Object.create(null);
        node = node[k] as Record<string, unknown>;
      }
    });
  }
  return toArrays(root) as Record<string, unknown>;
};

const toArrays = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, toArrays(v)] as const);
  return entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))
    ? entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v)
    : Object.fromEntries(entries);
};

// Field types, with Stripe's words for what is wrong with a value.
const MISSING = "\u0000missing";
const invalid = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined
      ? MISSING
      : `Invalid ${what}: ${
        typeof issue.input === "string" ? issue.input : JSON.stringify(issue.input)
      }`,
});
const text = z.string(invalid("string"));
const nonEmpty = (name: string) =>
  text.min(1, {
    error: `You passed an empty string for '${name}'. We assume empty values are an attempt ` +
      `to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' ` +
      "from your request or supply a non-empty value.",
  });
const nullable = text.transform((s) => s === "" ? null : s);
const boolean = z.enum(["true", "false"], invalid("boolean")).transform((v) => v === "true");
const count = (what: string) => text.regex(/^\d+$/, invalid(what)).transform(Number);
const metadata = z.union([z.literal(""), z.record(z.string(), z.string())], invalid("hash"));
const strings = z.union([z.literal(""), z.array(z.string())], invalid("array"))
  .transform((v) => v === "" ? [] : v);
const CURRENCIES = new Set(Intl.supportedValuesOf("currency").map((c) => c.toLowerCase()));
const currency = text.refine((c) => CURRENCIES.has(c.toLowerCase()), invalid("currency"))
  .transform((c) => c.toLowerCase());
const expand = z.array(z.string()).optional();

const productFields = {
  active: boolean.optional(),
  description: nullable.optional(),
  images: strings.optional(),
  metadata: metadata.optional(),
  shippable: boolean.optional(),
  statement_descriptor: nullable.optional(),
  tax_code: nullable.optional(),
  unit_label: nullable.optional(),
  url: nullable.optional(),
  expand,
};
export const productParams = {
  create: z.strictObject({
    id: text.optional(),
    name: nonEmpty("name"),
    ...productFields,
    type: z.enum(["good", "service"], invalid("type")).optional(),
  }),
  update: z.strictObject({
    name: nonEmpty("name").optional(),
    ...productFields,
    default_price: nullable.optional(),
  }),
};

const priceUpdate = {
  active: boolean.optional(),
  lookup_key: nullable.optional(),
  metadata: metadata.optional(),
  nickname: nullable.optional(),
  tax_behavior: z.enum(["exclusive", "inclusive", "unspecified"], invalid("tax_behavior"))
    .optional(),
  transfer_lookup_key: boolean.optional(),
  expand,
};
export const priceParams = {
  create: z.strictObject({
    ...priceUpdate,
    currency,
    product: nonEmpty("product"),
    unit_amount: count("non-negative integer").optional(),
    unit_amount_decimal: text.regex(/^\d+(\.\d+)?$/, invalid("decimal")).optional(),
    billing_scheme: z.enum(["per_unit"], invalid("billing_scheme")).optional(),
    recurring: z.strictObject({
      interval: z.enum(["day", "week", "month", "year"], invalid("interval")),
      interval_count: count("positive integer").optional(),
      usage_type: z.enum(["licensed", "metered"], invalid("usage_type")).optional(),
      trial_period_days: count("non-negative integer").optional(),
    }, invalid("hash")).optional(),
  }),
  update: z.strictObject(priceUpdate),
};

const customerFields = {
  name: nullable.optional(),
  email: nullable.optional(),
  description: nullable.optional(),
  phone: nullable.optional(),
  metadata: metadata.optional(),
  preferred_locales: strings.optional(),
  expand,
};
export const customerParams = {
  create: z.strictObject(customerFields),
  update: z.strictObject(customerFields),
};

export const checkoutSessionParams = z.strictObject({
  mode: z.enum(["payment", "setup", "subscription"], invalid("mode")),
  line_items: z.array(z.strictObject({ price: nonEmpty("price"), quantity: count("integer") }))
    .optional(),
  success_url: text.optional(),
  cancel_url: text.optional(),
  return_url: text.optional(),
  client_reference_id: nullable.optional(),
  customer: text.optional(),
  customer_email: text.optional(),
  metadata: metadata.optional(),
  subscription_data: z.strictObject({
    description: nullable.optional(),
    metadata: metadata.optional(),
    trial_period_days: count("non-negative integer").optional(),
  }).optional(),
  allow_promotion_codes: boolean.optional(),
  locale: text.optional(),
  payment_method_types: strings.optional(),
  ui_mode: z.enum(["hosted", "embedded", "custom"], invalid("ui_mode")).optional(),
  expand,
});

/** The dev-only "a customer completed a checkout", in JSON. */
export const completeCheckoutParams = z.strictObject({
  clientId: nonEmpty("clientId"),
  priceTierId: nonEmpty("priceTierId"),
  planId: nonEmpty("planId").optional(),
  stripeCustomerId: nonEmpty("stripeCustomerId").optional(),
  paymentStatus: z.enum(["paid", "unpaid", "no_payment_required"], invalid("paymentStatus"))
    .optional(),
});
export type CompleteCheckoutInput = z.input<typeof completeCheckoutParams>;

const paramName = (path: readonly PropertyKey[]) =>
  path.map((p, i) => i === 0 ? String(p) : `[${String(p)}]`).join("");

/** Parses or throws the 400 Stripe would answer. */
export const parseParams = <S extends z.ZodType>(schema: S, params: unknown): z.output<S> => {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const unknown = issues.find((issue) => issue.code === "unrecognized_keys");
  if (unknown !== undefined) {
    const param = paramName([...unknown.path, unknown.keys[0]!]);
    throw new ApiError(400, `Received unknown parameter: ${param}`, {
      param,
      code: "parameter_unknown",
    });
  }
  const issue = issues[0]!;
  const param = paramName(issue.path);
  if (issue.message === MISSING) {
    throw new ApiError(400, `Missing required param: ${param}.`, {
      param,
      code: "parameter_missing",
    });
  }
  throw new ApiError(400, issue.message, { param, code: "parameter_invalid" });
};
