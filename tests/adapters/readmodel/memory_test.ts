import { memoryReadModel } from "../../../adapters/readmodel/memory.ts";
import { readModelContract } from "./read_model_contract.ts";

readModelContract("memoryReadModel", () => memoryReadModel());
