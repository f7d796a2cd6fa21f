/**
 * Running outbound sync on the bus: consumers of the plan, price tier and client topics
 * that pause while Stripe's circuit breaker is open, so an outage dead-letters nothing.
 * @module
 */
import type { Bus, Consumer, MessageHandler } from "../ports/bus.ts";
import { type StripeCircuit, StripeUnavailableError } from "../ports/stripe_gateway.ts";
import { TOPICS } from "../shared/integration_events.ts";
import { sleep } from "../shared/sleep.ts";
import { outboundHandler } from "./handler.ts";
import { NotInStripeYet, type OutboundDeps } from "./stripe_call.ts";

export const OUTBOUND_TOPICS = [
  TOPICS.plans,
  TOPICS.priceTiers,
  TOPICS.clients,
  TOPICS.planSubscriptions,
] as const;

export type OutboundOptions = {
  bus: Bus;
  deps: OutboundDeps;
  /** The breaker in front of the gateway: consumption pauses while it is open. */
  circuit?: StripeCircuit;
  /** Each topic is consumed by a group of its own, named `<groupId>.<topic>`. */
  groupId?: string;
  /** Default OUTBOUND_TOPICS; another set lets a benchmark use topics of its own. */
  topics?: readonly string[];
  /**
   * Consumers per topic in this process (default 1). With Kafka they share the topic's
   * partitions; the SQLite bus gives a topic to one of them at a time.
   */
  consumers?: number;
  /**
   * Stripe calls each consumer has in flight at most (default 1), never two for one
   * aggregate: the bus runs that many handlers of different keys at once.
   */
  concurrency?: number;
  /**
   * How long a price tier waits in hand for its plan's product (default 5 s) before the
   * bus retries it with backoff. Short, so that Kafka's session stays alive meanwhile.
   */
  productWaitMs?: number;
  /** Bus attempts before a message is dead-lettered (default 12). */
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
};

export type OutboundRunner = { consumers: readonly Consumer[]; stop(): Promise<void> };

/**
 * Consumes the outbound topics. When the breaker opens every consumer pauses; the bus
 * holds the message in hand without counting its failure, and the consumers resume
 * after the cooldown, when the next call is the breaker's trial.
 *
 * A group per topic: a price tier waiting for its plan's product holds up other tiers
 * only, never the plan message it waits for (topics are not ordered among themselves).
 */
export const startOutbound = async (options: OutboundOptions): Promise<OutboundRunner> => {
  const { bus, circuit, consumers: count = 1, productWaitMs = 5000 } = options;
  const stopping = new AbortController();
  let paused = false;
  const handle = outboundHandler(options.deps);
  const patient: MessageHandler = async (message) => {
    const waitUntil = Date.now() + productWaitMs;
    for (let delay = 20;; delay = Math.min(delay * 2, 500)) {
      try {
        return await handle(message);
      } catch (error) {
        if (stopping.signal.aborted) throw error;
        if (error instanceof NotInStripeYet && Date.now() < waitUntil) {
          await sleep(delay, stopping.signal);
        } else if (error instanceof StripeUnavailableError && !paused) {
          // The cooldown is just ending: wait for it here rather than spend an attempt.
          await sleep(Math.min(error.retryAfterMs ?? delay, 1000), stopping.signal);
        } else {
          throw error;
        }
      }
    }
  };

  const consumers: Consumer[] = [];
  const groupId = options.groupId ?? "nudges.outbound.stripe";
  for (const topic of options.topics ?? OUTBOUND_TOPICS) {
    for (let i = 0; i < count; i++) {
      consumers.push(
        await bus.consume({
          groupId: `${groupId}.${topic}`,
          topics: [topic],
          handler: patient,
          maxAttempts: options.maxAttempts ?? 12,
          initialBackoffMs: options.initialBackoffMs ?? 200,
          maxBackoffMs: options.maxBackoffMs ?? 30_000,
          concurrency: options.concurrency,
        }),
      );
    }
  }

  let resumeTimer: ReturnType<typeof setTimeout> | undefined;
  const resume = () => {
    clearTimeout(resumeTimer);
    paused = false;
    consumers.forEach((c) => c.resume());
  };
  const unsubscribe = circuit
    ? [
      circuit.onBreak((cooldownMs) => {
        paused = true;
        consumers.forEach((c) => c.pause());
        clearTimeout(resumeTimer);
        // Resuming lets a message (the one in hand, or a fresh one) make the trial call;
        // should it fail, the breaker opens again and pauses them again.
        resumeTimer = setTimeout(resume, cooldownMs);
      }),
      circuit.onReset(resume),
    ]
    : [];
  return {
    consumers,
    stop: async () => {
      stopping.abort();
      clearTimeout(resumeTimer);
      unsubscribe.forEach((u) => u());
      await Promise.all(consumers.map((c) => c.stop()));
    },
  };
};
