/**
 * The simulator's Stripe objects: shapes as in Stripe's own fixtures, values as a fresh
 * test-mode object has them; ids as Stripe makes them; errors as Stripe words them.
 * @module
 */
export type StripeObject = { id: string; object: string } & Record<string, unknown>;

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { type?: string; param?: string; code?: string } = {},
  ) {
    super(message);
  }
  toJSON() {
    const { type = "invalid_request_error", ...rest } = this.extra;
    return { error: { type, message: this.message, ...rest } };
  }
}

export const noSuch = (what: string, id: string, param = "id") =>
  new ApiError(404, `No such ${what}: '${id}'`, { param, code: "resource_missing" });

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const randomId = (prefix: string, length: number): string =>
  prefix + [...crypto.getRandomValues(new Uint8Array(length))].map((b) => BASE62[b % 62]).join("");

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Applies update parameters to `object` in place (metadata merges key by key; an empty
 * value removes a key) and returns the previous values of what changed.
 */
export const applyParams = (
  object: StripeObject,
  params: Record<string, unknown>,
): Record<string, unknown> => {
  const previous: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === "expand" || value === undefined) continue;
    const next = key === "metadata" ? mergeMetadata(object.metadata, value) : value;
    if (JSON.stringify(next) === JSON.stringify(object[key])) continue;
    previous[key] = object[key];
    object[key] = next;
  }
  return previous;
};

const mergeMetadata = (current: unknown, change: unknown): Record<string, string> => {
  if (change === "") return {};
  const merged = { ...(current as Record<string, string>) };
  for (const [k, v] of Object.entries(change as Record<string, string>)) {
    if (v === "") delete merged[k];
    else merged[k] = v;
  }
  return merged;
};

export const newProduct = (id: string, created: number): StripeObject => ({
  id,
  object: "product",
  active: true,
  created,
  default_price: null,
  description: null,
  images: [],
  livemode: false,
  marketing_features: [],
  metadata: {},
  name: "",
  package_dimensions: null,
  shippable: null,
  statement_descriptor: null,
  tax_code: null,
  type: "service",
  unit_label: null,
  updated: created,
  url: null,
});

export const newPrice = (id: string, created: number): StripeObject => ({
  id,
  object: "price",
  active: true,
  billing_scheme: "per_unit",
  created,
  currency: "usd",
  custom_unit_amount: null,
  livemode: false,
  lookup_key: null,
  metadata: {},
  nickname: null,
  product: "",
  recurring: null,
  tax_behavior: "unspecified",
  tiers_mode: null,
  transform_quantity: null,
  type: "one_time",
  unit_amount: null,
  unit_amount_decimal: null,
});

export const newCustomer = (id: string, created: number): StripeObject => ({
  id,
  object: "customer",
  address: null,
  balance: 0,
  created,
  currency: null,
  default_source: null,
  delinquent: false,
  description: null,
  discount: null,
  email: null,
  invoice_prefix: randomId("", 8).toUpperCase(),
  invoice_settings: {
    custom_fields: null,
    default_payment_method: null,
    footer: null,
    rendering_options: null,
  },
  livemode: false,
  metadata: {},
  name: null,
  next_invoice_sequence: 1,
  phone: null,
  preferred_locales: [],
  shipping: null,
  tax_exempt: "none",
  test_clock: null,
});

export const newCheckoutSession = (id: string, created: number): StripeObject => ({
  id,
  object: "checkout.session",
  adaptive_pricing: { enabled: false },
  after_expiration: null,
  allow_promotion_codes: null,
  amount_subtotal: null,
  amount_total: null,
  automatic_tax: { enabled: false, liability: null, provider: null, status: null },
  billing_address_collection: null,
  cancel_url: null,
  client_reference_id: null,
  client_secret: null,
  collected_information: null,
  consent: null,
  consent_collection: null,
  created,
  currency: null,
  currency_conversion: null,
  custom_fields: [],
  custom_text: {
    after_submit: null,
    shipping_address: null,
    submit: null,
    terms_of_service_acceptance: null,
  },
  customer: null,
  customer_account: null,
  customer_creation: null,
  customer_details: null,
  customer_email: null,
  discounts: [],
  expires_at: created + 24 * 3600,
  integration_identifier: null,
  invoice: null,
  invoice_creation: null,
  livemode: false,
  locale: null,
  managed_payments: { enabled: false },
  metadata: {},
  mode: "payment",
  origin_context: null,
  payment_intent: null,
  payment_link: null,
  payment_method_collection: null,
  payment_method_configuration_details: null,
  payment_method_options: {},
  payment_method_types: ["card"],
  payment_status: "unpaid",
  permissions: null,
  phone_number_collection: { enabled: false },
  recovered_from: null,
  saved_payment_method_options: null,
  setup_intent: null,
  shipping_address_collection: null,
  shipping_cost: null,
  shipping_options: [],
  status: "open",
  submit_type: null,
  subscription: null,
  success_url: null,
  total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
  ui_mode: "hosted",
  url: null,
  wallet_options: null,
});
