import { Command } from "commander";
import { registerBridge } from "./bridge.js";
import { registerDemo } from "./demo.js";
import { registerDevnet } from "./devnet.js";
import { registerModel } from "./model.js";
import { registerRelay } from "./relay.js";
import { registerRunTask } from "./run-task.js";
import { registerSimulate } from "./simulate.js";
import { registerTask } from "./task.js";
import { registerWorker } from "./worker.js";

/** The `triad` command line; each subcommand lives in its own module and registers itself on the program. */
export function buildProgram(): Command {
  const program = new Command()
    .name("triad")
    .description("Triad: verifiable LLM text generation on a network of GPU nodes")
    .showHelpAfterError();
  const registrations = [
    registerRelay,
    registerRunTask,
    registerDevnet,
    registerTask,
    registerDemo,
    registerWorker,
    registerBridge,
    registerSimulate,
    registerModel,
  ];
  for (const register of registrations) register(program);
  return program;
}
