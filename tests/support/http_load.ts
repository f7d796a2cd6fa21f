// Load for the HTTP benchmarks: a closed loop (a fixed number of requests in flight, for
// requests/s) and an open loop (a fixed rate, each latency timed from when its request
// was due, so a stall of the server is not hidden by the client waiting).
import { signature, stripeEvent } from "./webhook_fixtures.ts";
import { product, SECRET } from "./webhook_fixtures.ts";

export type Shot = { body: string; signature: string };
export type LoadResult = { rps: number; p50: number; p99: number; errors: number; sent: number };
export type Send = () => Promise<boolean>;

/** `count` distinct product.created events, signed now (valid for 300 s). */
export const signedProductEvents = async (count: number, run: string): Promise<Shot[]> => {
  const timestamp = Math.floor(Date.now() / 1000);
  const shots: Shot[] = [];
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify(
      stripeEvent("product.created", product({ id: `prod_${run}_${i}`, name: `Product ${i}` }), {
        id: `evt_${run}_${i}`,
      }),
    );
    shots.push({ body, signature: await signature(body, { secrets: [SECRET], timestamp }) });
  }
  return shots;
};

/**
 * POSTs the next shot to `url` at each call, over keep-alive HTTP/1.1 connections of its
 * own (one request at a time on each, opened as needed); true for a 200. `close()` closes
 * them. A fetch() client made enough garbage that its own scavenges (5–12 ms, every second
 * or so) were most of bare Deno.serve's p99, and it topped out at 12,000–15,000 requests/s
 * where bare Deno.serve answers 64,000–96,000: so requests are encoded up front, into one
 * buffer, and each connection reads its answers into one buffer of its own.
 */
export const poster = (url: string, shots: readonly Shot[]): Send & { close(): void } => {
  const { protocol, hostname, port, pathname, search } = new URL(url);
  if (protocol !== "http:") throw new TypeError(`plain http only, not ${url}`);
  const to = { hostname, port: Number(port || 80) };
  const requests = shots.map(({ body, signature }) => {
    const bytes = encoder.encode(body);
    const head = encoder.encode(
      `POST ${pathname}${search} HTTP/1.1\r\nhost: ${hostname}:${to.port}\r\n` +
        `content-type: application/json\r\nstripe-signature: ${signature}\r\n` +
        `content-length: ${bytes.length}\r\n\r\n`,
    );
    return [head, bytes] as const;
  });
  const starts = new Uint32Array(requests.length + 1);
  for (const [i, [head, body]] of requests.entries()) {
    starts[i + 1] = starts[i]! + head.length + body.length;
  }
  const all = new Uint8Array(starts[requests.length]!);
  for (const [i, [head, body]] of requests.entries()) {
    all.set(head, starts[i]!);
    all.set(body, starts[i]! + head.length);
  }
  const idle: Connection[] = [];
  let closed = false;
  const attempt = async (connection: Connection, request: Uint8Array) => {
    try {
      const status = await exchange(connection, request);
      if (closed) connection.conn.close();
      else idle.push(connection);
      return status;
    } catch (error) {
      connection.conn.close();
      throw error;
    }
  };
  let next = 0;
  const send = async () => {
    const i = next++ % requests.length;
    const request = all.subarray(starts[i]!, starts[i + 1]!);
    const reused = idle.pop();
    if (reused) {
      // A kept-alive connection the server closed meanwhile: once more, on a new one. Any
      // other failure counts, as the server may have handled the request.
      const status = await attempt(reused, request).catch((error) => {
        if (!(error instanceof Stale)) throw error;
        return null;
      });
      if (status !== null) return status === 200;
    }
    return await attempt(await connect(to), request) === 200;
  };
  return Object.assign(send, {
    close: () => {
      closed = true;
      idle.splice(0).forEach(({ conn }) => conn.close());
    },
  });
};

type Connection = { conn: Deno.TcpConn; buffer: Uint8Array };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEAD_END = [13, 10, 13, 10];

/** The connection was closed before any byte of the answer came: the request was not handled. */
class Stale extends Error {}

const connect = async (to: { hostname: string; port: number }): Promise<Connection> => {
  const conn = await Deno.connect(to);
  conn.setNoDelay(true);
  return { conn, buffer: new Uint8Array(64 * 1024) };
};

/** Where the head of an answer ends in `buffer[0, filled)`, searched from `from`; -1 if not yet. */
const headEnd = (buffer: Uint8Array, from: number, filled: number) => {
  for (let i = Math.max(0, from - 3); i + 4 <= filled; i++) {
    if (HEAD_END.every((byte, k) => buffer[i + k] === byte)) return i + 4;
  }
  return -1;
};

const closedByPeer = (error: unknown) =>
  error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset;

/** Writes one request and reads its whole answer (content-length framed); its status code. */
const exchange = async ({ conn, buffer }: Connection, request: Uint8Array) => {
  let filled = 0;
  try {
    for (let written = 0; written < request.length;) {
      written += await conn.write(request.subarray(written));
    }
    let end = -1;
    let length = 0;
    let status = 0;
    while (end < 0 || filled < end + length) {
      if (filled === buffer.length) throw new Error(`an answer over ${buffer.length} bytes`);
      const read = await conn.read(buffer.subarray(filled));
      if (read === null) throw new Deno.errors.ConnectionReset("the server closed the connection");
      filled += read;
      if (end >= 0) continue;
      end = headEnd(buffer, filled - read, filled);
      if (end < 0) continue;
      const head = decoder.decode(buffer.subarray(0, end));
      status = Number(head.slice(9, 12));
      const declared = head.match(/\r\ncontent-length: *(\d+)/i);
      if (!declared) throw new Error(`an answer without content-length: ${head}`);
      length = Number(declared[1]);
    }
    return status;
  } catch (error) {
    throw filled === 0 && closedByPeer(error) ? new Stale(String(error), { cause: error }) : error;
  }
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

const summary = (latencies: number[], errors: number, seconds: number): LoadResult => {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors,
    sent: latencies.length + errors,
  };
};

/** `inFlight` requests at all times for `seconds`. */
export const closedLoop = async (send: Send, inFlight: number, seconds: number) => {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() < end) {
      const sentAt = performance.now();
      const ok = await send().catch(() => false);
      if (ok) latencies.push(performance.now() - sentAt);
      else errors++;
    }
  }));
  return summary(latencies, errors, (performance.now() - start) / 1000);
};

/** `rate` requests a second for `seconds`, whatever the answers. */
export const fixedRate = async (send: Send, rate: number, seconds: number) => {
  const total = rate * seconds;
  const latencies = new Float64Array(total);
  let answered = 0;
  let errors = 0;
  let outstanding = 0;
  let drained = () => {};
  const start = performance.now();
  const settle = () => {
    if (--outstanding === 0) drained();
  };
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Send everything that is due; timers are too coarse for one request per tick.
    for (; i < total && start + (i * 1000) / rate <= now; i++) {
      const due = start + (i * 1000) / rate;
      outstanding++;
      send().then(
        (ok) => ok ? latencies[answered++] = performance.now() - due : errors++,
        () => errors++,
      ).finally(settle);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (outstanding > 0) await new Promise<void>((resolve) => drained = resolve);
  return summary([...latencies.subarray(0, answered)], errors, seconds);
};
