// A small imitation of Stripe's API for tests of outbound sync: products, prices and
// customers kept in memory, answered in the shapes of fixtures/stripe_objects.json.
// It honours idempotency keys as Stripe does (same key and parameters: the same answer
// again; other parameters: 400; still running: 409), records every request, can fail
// the next requests on demand, answers after a set latency and can enforce a rate
// limit with 429s; it lists and retrieves them too (GET, newest first, as reconcile reads
// them). Test-only: the dev-mode simulator is a separate thing.
import shapes from "./fixtures/stripe_objects.json" with { type: "json" };

type Json = Record<string, unknown>;

export type Fault =
  | { status: 500 | 502 | 503 }
  | { status: 429; code?: "rate_limit" | "lock_timeout"; retryAfterSeconds?: number }
  | { status: 400 | 402 | 404; message: string; code?: string }
  | { status: 401 }
  /** The connection breaks before the answer is complete; `executed`: after doing the work. */
  | { drop: true; executed?: boolean };

export type RecordedRequest = {
  method: string;
  path: string;
  idempotencyKey: string | null;
  params: Json;
  /** The status answered; 0 for a dropped connection. */
  status: number;
  /** True when the answer was a stored one, replayed for a repeated idempotency key. */
  replayed: boolean;
  /** performance.now() when it arrived. */
  at: number;
};

export type StandInOptions = {
  /** Added before every answer but a 429 from the rate limit (default 0). */
  latencyMs?: number;
  /** Requests per second allowed (a bucket of one second's worth); null for no limit. */
  requestsPerSecond?: number | null;
};

export type StripeStandIn = {
  url: string;
  requests: RecordedRequest[];
  products: Map<string, Json>;
  prices: Map<string, Json>;
  customers: Map<string, Json>;
  /** 429s answered because of the rate limit (injected faults not counted). */
  rateLimited(): number;
  /** Answers the next `count` requests (that `match`, when given) with `fault`. */
  failNext(count: number, fault: Fault, match?: (path: string, params: Json) => boolean): void;
  /** Called as each request arrives, before it is answered. */
  onRequest?: (method: string, path: string) => void;
  close(): Promise<void>;
};

// Some of the currencies Stripe takes; enough to refuse a made-up one like Stripe does.
const CURRENCIES = new Set(
  "usd eur gbp jpy cad aud chf sek nok dkk pln czk huf nzd sgd hkd mxn brl inr".split(" "),
);

/** Stripe's form encoding (a[b][0]=c) back into objects and arrays. */
export const parseForm = (body: string): Json => {
  const out: Json = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.replace(/\]/g, "").split("[");
    let node: Record<string, unknown> = out;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        node[segment] = value;
        return;
      }
      const child = node[segment] ?? (/^\d+$/.test(path[i + 1]!) ? [] : {});
      node[segment] = child;
      node = child as Record<string, unknown>;
    });
  }
  return out;
};

const randomId = (prefix: string) =>
  prefix + "_" + [...crypto.getRandomValues(new Uint8Array(14))]
    .map((b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[b % 62]).join("");

const error = (status: number, message: string, code?: string, type?: string): Answer => ({
  status,
  body: {
    error: { type: type ?? (status >= 500 ? "api_error" : "invalid_request_error"), message, code },
  },
});

type Answer = { status: number; body: Json; headers?: Json };

const bool = (value: unknown) => value === undefined ? undefined : value === "true";
const list = (value: unknown) => value === "" ? [] : value as string[] | undefined;
const text = (value: unknown) => value === "" ? null : value as string | undefined;
const defined = (o: Json) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export const startStripeStandIn = (options: StandInOptions = {}): StripeStandIn => {
  const latencyMs = options.latencyMs ?? 0;
  const perSecond = options.requestsPerSecond ?? null;
  const requests: RecordedRequest[] = [];
  const products = new Map<string, Json>();
  const prices = new Map<string, Json>();
  const customers = new Map<string, Json>();
  const stored = new Map<string, { route: string; params: string; answer: Answer }>();
  const running = new Set<string>();
  const faults: { fault: Fault; match?: (path: string, params: Json) => boolean }[] = [];
  let rateLimited = 0;
  let tokens = perSecond ?? 0;
  let refilledAt = performance.now();

  const takeToken = (): number => {
    if (perSecond === null) return 0;
    const now = performance.now();
    tokens = Math.min(perSecond, tokens + (now - refilledAt) / 1000 * perSecond);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (1 - tokens) / perSecond;
  };

  const now = () => Math.floor(Date.now() / 1000);

  const LISTS: Record<string, Map<string, Json>> = {
    products,
    prices,
    customers,
    subscriptions: new Map(),
  };
  // Lists answer newest first, as Stripe's do; the maps keep creation order.
  const read = (kind: string, id: string | undefined, p: Json): Answer => {
    const objects = LISTS[kind];
    if (!objects) return error(404, `Unrecognized request URL (GET: /v1/${kind}).`);
    if (id !== undefined) {
      const found = objects.get(id);
      return found
        ? { status: 200, body: found }
        : error(404, `No such ${kind.slice(0, -1)}: '${id}'`, "resource_missing");
    }
    const created = p.created as { gte?: string; lt?: string } | undefined;
    const all = [...objects.values()].reverse().filter((o) =>
      (created?.gte === undefined || (o.created as number) >= Number(created.gte)) &&
      (created?.lt === undefined || (o.created as number) < Number(created.lt))
    );
    const after = typeof p.starting_after === "string"
      ? all.findIndex((o) => o.id === p.starting_after) + 1
      : 0;
    const limit = Number(p.limit ?? 10);
    const data = all.slice(after, after + limit);
    return {
      status: 200,
      body: { object: "list", data, has_more: after + limit < all.length, url: `/v1/${kind}` },
    };
  };

  const execute = (method: string, path: string, p: Json): Answer => {
    const [, , kind, id] = path.split("/");
    const metadata = (old: Json = {}) => ({
      ...(old.metadata as Json ?? {}),
      ...(p.metadata as Json ?? {}),
    });
    if (method === "GET") return read(kind!, id, p);
    if (method !== "POST") return error(405, `${method} ${path} is not imitated`);
    if (kind === "products" && id === undefined) {
      if (typeof p.name !== "string") {
        return error(400, "Missing required param: name.", "parameter_missing");
      }
      const product = {
        ...shapes.product,
        id: randomId("prod"),
        name: p.name,
        description: text(p.description) ?? null,
        images: list(p.images) ?? [],
        active: bool(p.active) ?? true,
        metadata: metadata(),
        default_price: null,
        created: now(),
        updated: now(),
      };
      products.set(product.id, product);
      return { status: 200, body: product };
    }
    if (kind === "products") {
      const product = products.get(id!);
      if (!product) return error(404, `No such product: '${id}'`, "resource_missing");
      Object.assign(
        product,
        defined({
          name: p.name,
          description: text(p.description),
          images: list(p.images),
          active: bool(p.active),
        }),
        { metadata: metadata(product), updated: now() },
      );
      return { status: 200, body: product };
    }
    if (kind === "prices" && id === undefined) {
      if (!products.has(p.product as string)) {
        return error(400, `No such product: '${p.product}'`, "resource_missing");
      }
      const currency = String(p.currency);
      if (!CURRENCIES.has(currency)) {
        return error(
          400,
          `Invalid currency: ${currency}. Stripe currently supports these currencies: ${
            [...CURRENCIES].join(", ")
          }`,
        );
      }
      const recurring = p.recurring as Json | undefined;
      const price = {
        ...shapes.price,
        id: randomId("price"),
        product: p.product,
        currency,
        unit_amount: Number(p.unit_amount),
        unit_amount_decimal: String(p.unit_amount),
        nickname: text(p.nickname) ?? null,
        active: true,
        metadata: metadata(),
        type: recurring ? "recurring" : "one_time",
        recurring: recurring
          ? {
            ...shapes.price.recurring,
            interval: recurring.interval,
            interval_count: Number(recurring.interval_count ?? 1),
          }
          : null,
        created: now(),
      };
      prices.set(price.id, price);
      return { status: 200, body: price };
    }
    if (kind === "prices") {
      const price = prices.get(id!);
      if (!price) return error(404, `No such price: '${id}'`, "resource_missing");
      Object.assign(price, defined({ active: bool(p.active), nickname: text(p.nickname) }), {
        metadata: metadata(price),
      });
      return { status: 200, body: price };
    }
    if (kind === "customers" && id === undefined) {
      const customer = {
        ...shapes.customer,
        id: randomId("cus"),
        email: text(p.email) ?? null,
        name: text(p.name) ?? null,
        metadata: metadata(),
        created: now(),
      };
      customers.set(customer.id, customer);
      return { status: 200, body: customer };
    }
    if (kind === "customers") {
      const customer = customers.get(id!);
      if (!customer) return error(404, `No such customer: '${id}'`, "resource_missing");
      Object.assign(customer, defined({ name: text(p.name), email: text(p.email) }), {
        metadata: metadata(customer),
      });
      return { status: 200, body: customer };
    }
    return error(404, `Unrecognized request URL (${method}: ${path}).`);
  };

  const respond = ({ status, body, headers = {} }: Answer, extra: Json = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers, ...extra } as Record<
        string,
        string
      >,
    });

  // A truncated answer: the client sees the connection break mid-response.
  const dropped = () =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("{"));
          controller.close();
        },
      }),
      { headers: { "content-length": "100", "content-type": "application/json" } },
    );

  const handle = async (request: Request, claimedKey: boolean): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const key = request.headers.get("idempotency-key");
    const params = parseForm(
      request.method === "GET" ? new URL(request.url).search.slice(1) : await request.text(),
    );
    const log: RecordedRequest = {
      method: request.method,
      path,
      idempotencyKey: key,
      params,
      status: 0,
      replayed: false,
      at: performance.now(),
    };
    requests.push(log);
    standIn.onRequest?.(request.method, path);
    const answer = (a: Answer, extra?: Json) => {
      log.status = a.status;
      return respond(a, extra);
    };

    const wait = takeToken();
    if (wait > 0) {
      rateLimited++;
      return answer(
        error(
          429,
          "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
          "rate_limit",
        ),
        {
          "retry-after": String(Math.ceil(wait)),
        },
      );
    }
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    const index = faults.findIndex((f) => !f.match || f.match(path, params));
    const fault = index >= 0 ? faults.splice(index, 1)[0]!.fault : null;
    if (fault && "drop" in fault && !fault.executed) return dropped();
    if (fault && "status" in fault) {
      if (fault.status === 429) {
        const code = fault.code ?? "rate_limit";
        const headers = fault.retryAfterSeconds === undefined
          ? {}
          : { "retry-after": String(fault.retryAfterSeconds) };
        return answer(
          error(
            429,
            code === "lock_timeout"
              ? "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."
              : "Request rate limit exceeded.",
            code,
          ),
          headers,
        );
      }
      if (fault.status === 401) return answer(error(401, "Invalid API Key provided: sk_test_****"));
      if ("message" in fault) return answer(error(fault.status, fault.message, fault.code));
      return answer(error(fault.status, "An unknown error occurred"));
    }

    const route = `${request.method} ${path}`;
    const paramsText = JSON.stringify(params);
    if (key !== null) {
      const before = stored.get(key);
      if (before) {
        if (before.route !== route || before.params !== paramsText) {
          return answer(
            error(
              400,
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
              undefined,
              "idempotency_error",
            ),
          );
        }
        log.replayed = true;
        return answer(before.answer, { "idempotent-replayed": "true", "idempotency-key": key });
      }
      if (!claimedKey) {
        return answer(
          error(
            409,
            "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and that's fine). Please try again later.",
            "idempotency_key_in_use",
          ),
        );
      }
    }
    const result = execute(request.method, path, params);
    // Like Stripe: only a request that ran is stored; a refused one may be sent again.
    if (key !== null && result.status === 200) {
      stored.set(key, { route, params: paramsText, answer: result });
    }
    if (fault && "drop" in fault) return dropped();
    return answer(result, key === null ? {} : { "idempotency-key": key });
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const key = request.headers.get("idempotency-key");
      const claimed = key !== null && !running.has(key);
      if (claimed) running.add(key);
      try {
        return await handle(request, claimed);
      } finally {
        if (claimed) running.delete(key);
      }
    },
  );

  const standIn: StripeStandIn = {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    products,
    prices,
    customers,
    rateLimited: () => rateLimited,
    failNext: (count, fault, match) => {
      for (let i = 0; i < count; i++) faults.push({ fault, match });
    },
    close: () => server.shutdown(),
  };
  return standIn;
};
