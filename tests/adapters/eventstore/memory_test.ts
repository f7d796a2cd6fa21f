import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { eventStoreContract } from "./event_store_contract.ts";

// One instance stands for the storage: a "restart" or a second writer gets the same one.
eventStoreContract("memoryEventStore", () => {
  const store = memoryEventStore();
  return { open: () => store };
});
