import type { Command } from "commander";
import { loadConfig } from "../../config.js";
import { createLogger, migrateOnly } from "../../main.js";
import { type OutputOptions, printResult } from "../output.js";
import { DEFAULT_APP_ROLE } from "../../store/roles.js";
import { printGrants } from "../print-grants.js";

interface MigrateOptions extends OutputOptions {
  printGrants?: boolean;
  appRole?: string;
}

/** Registers `migrate`: brings the database schema up to date without serving, e.g. before a rollout. */
export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply pending database migrations (DATABASE_URL, or the embedded PostgreSQL) and exit")
    .option("--json", "print the result as JSON")
    .option("--print-grants", "print the SQL that creates the least-privilege application role (APP_DATABASE_URL), connecting nowhere")
    .option("--app-role <name>", "the application role --print-grants creates", DEFAULT_APP_ROLE)
    .action(async (options: MigrateOptions) => {
      if (options.printGrants) return printGrants(options.appRole ?? DEFAULT_APP_ROLE);
      // The service logs JSON on stdout at "info"; here stdout carries the report, so only
      // warnings and errors are logged unless LOG_LEVEL asks for more.
      const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || "warn" });
      const { applied, current } = await migrateOnly(config, createLogger(config.logLevel));
      printResult(
        options,
        () =>
          applied.length === 0
            ? `schema is up to date at version ${current}`
            : `applied migration${applied.length === 1 ? "" : "s"} ${applied.join(", ")}; schema is now at version ${current}`,
        () => ({ applied, current }),
      );
    });
}
