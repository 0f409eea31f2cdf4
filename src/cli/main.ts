#!/usr/bin/env node
import { CliFailure } from "./failure.js";
import { printErrors } from "./output.js";
import { buildProgram } from "./program.js";

// Commands return normally on success; a failure sets the exit code and the process ends by
// itself once its connections are closed, so output piped to another program is never cut short.
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const failure = error instanceof CliFailure ? error : new CliFailure(error instanceof Error ? error.message : String(error));
  printErrors(failure.lines());
  process.exitCode = 1;
}
