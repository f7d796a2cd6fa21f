/**
 * The operations endpoints every HTTP app answers: /healthz (the process is alive),
 * /readyz (its store and bus answer) and /metrics (Prometheus text).
 * @module
 */

/** A named dependency check: resolves when reachable, throws (or resolves false) when not. */
export type ReadinessCheck = { name: string; check: () => Promise<unknown> };

export type OpsOptions = {
  checks: readonly ReadinessCheck[];
  /** The Prometheus text of the app's registry (async: a gauge may be read at scrape time). */
  metrics: () => string | Promise<string>;
  /** A check slower than this counts as failed (default 2 s). */
  timeoutMs?: number;
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const probe = async ({ check }: ReadinessCheck, timeoutMs: number): Promise<string> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return outcome === false ? "unreachable" : "ok";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
};

/** Answers the ops routes; null for any other request, so the app can route it on. */
export const opsHandler =
  ({ checks, metrics, timeoutMs = 2000 }: OpsOptions) =>
  async (request: Request): Promise<Response | null> => {
    if (request.method !== "GET") return null;
    switch (new URL(request.url).pathname) {
      case "/healthz":
        return json({ status: "ok" });
      case "/readyz": {
        const results = await Promise.all(checks.map((c) => probe(c, timeoutMs)));
        const report = Object.fromEntries(checks.map((c, i) => [c.name, results[i]]));
        const ready = results.every((r) => r === "ok");
        return json({ status: ready ? "ready" : "not ready", checks: report }, ready ? 200 : 503);
      }
      case "/metrics":
        return new Response(await metrics(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      default:
        return null;
    }
  };
