// A Kafka broker of a benchmark's own (tests/support/kafka_broker.ts), for the benchmarks
// that run `deno task dev` over Kafka: dev mode's topic and consumer group names are
// fixed, so on the broker the team shares, anyone else's dev run would consume them.
// BENCH_KAFKA=0 skips the Kafka rows; BENCH_KAFKA_BROKERS names a broker to use instead
// (one nobody else uses).
import { start } from "./kafka_broker.ts";

export type BenchKafka = { brokers: string; stop(): Promise<void> } | null;

export const benchKafka = async (): Promise<BenchKafka> => {
  if (Deno.env.get("BENCH_KAFKA") === "0") return null;
  const given = Deno.env.get("BENCH_KAFKA_BROKERS");
  if (given) return { brokers: given, stop: () => Promise.resolve() };
  const broker = await start();
  return { brokers: broker.brokers, stop: broker.stop };
};
