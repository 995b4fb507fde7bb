import { Command } from "commander";

// Each subcommand lives in its own module and registers itself on the program.
const program = new Command()
  .name("triad")
  .description("Triad: verifiable LLM text generation on a network of GPU nodes")
  .showHelpAfterError();

const registrations: Array<(program: Command) => void> = [];

for (const register of registrations) register(program);

await program.parseAsync(process.argv);
