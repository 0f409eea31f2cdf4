import { Command } from "commander";
import { SERVICE_VERSION } from "../version.js";
import { registerAnalyze } from "./commands/analyze.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerEvaluate } from "./commands/evaluate.js";
import { registerExport } from "./commands/export.js";
import { registerImport } from "./commands/import.js";
import { registerInsights } from "./commands/insights.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerModels } from "./commands/models.js";
import { registerRetrain } from "./commands/retrain.js";
import { registerRetention } from "./commands/retention.js";
import { registerPredict } from "./commands/predict.js";
import { registerServe } from "./commands/serve.js";
import { registerSimulate } from "./commands/simulate.js";
import { registerStatus } from "./commands/status.js";

/** Each command lives in its own module under commands/ and adds itself here with one line. */
const COMMANDS: readonly ((program: Command) => void)[] = [
  registerServe,
  registerMigrate,
  registerStatus,
  registerExport,
  registerImport,
  registerSimulate,
  registerPredict,
  registerAnalyze,
  registerInsights,
  registerDashboard,
  registerRetrain,
  registerModels,
  registerRetention,
  registerEvaluate,
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
