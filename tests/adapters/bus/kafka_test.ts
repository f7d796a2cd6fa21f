// The bus contract against a real Kafka broker (KAFKA_BROKERS; `.ci/run` starts one with
// tests/support/kafka_broker.ts).
import { kafkaBus } from "../../../adapters/bus/kafka.ts";
import { busContract } from "./bus_contract.ts";
import { busOperatorsContract } from "./bus_contract_operators.ts";
import { busWindowContract } from "./bus_contract_window.ts";

const brokers = Deno.env.get("KAFKA_BROKERS");
if (!brokers) {
  console.log(
    "kafka_test.ts: skipped, KAFKA_BROKERS is not set (start a broker: deno task kafka start)",
  );
}

const setup = () =>
  Promise.resolve({
    open: () => kafkaBus({ brokers: brokers!.split(","), sessionTimeoutMs: 6000 }),
    backend: { kind: "kafka" as const, brokers: brokers! },
    cleanup: () => Promise.resolve(),
  });
busContract("kafka bus", setup, !brokers);
busWindowContract("kafka bus", setup, !brokers);
busOperatorsContract("kafka bus", setup, !brokers);
