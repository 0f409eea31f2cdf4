import { Command } from "commander";
import { SERVICE_VERSION } from "../version.js";
import { registerExport } from "./commands/export.js";
import { registerImport } from "./commands/import.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerServe } from "./commands/serve.js";
import { registerStatus } from "./commands/status.js";

/** Each command lives in its own module under commands/ and adds itself here with one line. */
const COMMANDS: readonly ((program: Command) => void)[] = [
  registerServe,
  registerMigrate,
  registerStatus,
  registerExport,
  registerImport,
];

/** Builds the `agent-learning` command line: the service's own server, and a client of its API. */
export function buildProgram(): Command {
  const program = new Command()
    .name("agent-learning")
    .description("A gRPC service that makes fleets of AI agents learn from their own execution history")
    .version(SERVICE_VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run with --help for usage)");
  for (const register of COMMANDS) register(program);
  return program;
}
