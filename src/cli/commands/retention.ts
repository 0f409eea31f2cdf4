import type { Command } from "commander";
import { loadConfig } from "../../config.js";
import { createLogger, type RetentionOutcome, type RetentionPolicy, retentionOnce } from "../../main.js";
import { CliFailure } from "../failure.js";
import { interruptOnSigint } from "../interrupt.js";
import { integerIn, numberIn } from "../option-parsers.js";
import { type OutputOptions, plural, printResult } from "../output.js";

interface RetentionOptions extends OutputOptions {
  dryRun?: boolean;
  days?: number;
  maxRows?: number;
  batchSize?: number;
}

/**
 * Registers `retention`: deletes old raw executions now, keeping the aggregates. There is no
 * retention RPC (deleting history is an operator's act, not a client's; the service applies the
 * policy on its own schedule), so like `migrate` it goes through main.ts, to the database of the
 * configuration, and needs no running server.
 */
export function registerRetention(program: Command): void {
  program
    .command("retention")
    .description("delete raw executions beyond RETENTION_DAYS / RETENTION_MAX_ROWS now (aggregates and what was learned are kept)")
    .option("--dry-run", "report how many executions would be deleted, and when they were recorded, deleting nothing")
    .option("--days <n>", "delete executions recorded more than N days ago (overrides RETENTION_DAYS)", numberIn(0.001, 1_000_000))
    .option("--max-rows <n>", "keep at most the N newest executions (overrides RETENTION_MAX_ROWS)", integerIn(1, Number.MAX_SAFE_INTEGER))
    .option("--batch-size <n>", "executions deleted per statement (overrides RETENTION_BATCH_SIZE)", integerIn(1, 100_000))
    .option("--json", "print the result as JSON")
    .action((options: RetentionOptions) => retention(options));
}

async function retention(options: RetentionOptions): Promise<void> {
  // stdout carries the report: only warnings and errors are logged unless LOG_LEVEL asks for more.
  const config = loadConfig(
    { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || "warn" },
    {
      ...(options.days === undefined ? {} : { retentionDays: options.days }),
      ...(options.maxRows === undefined ? {} : { retentionMaxRows: options.maxRows }),
      ...(options.batchSize === undefined ? {} : { retentionBatchSize: options.batchSize }),
    },
  );
  const log = createLogger(config.logLevel);
  const interrupt = interruptOnSigint();
  try {
    const run = await retentionOnce(config, log, { dryRun: options.dryRun === true, signal: interrupt.signal });
    if (!run) throw new CliFailure("no retention limit: set RETENTION_DAYS and/or RETENTION_MAX_ROWS, or pass --days / --max-rows");
    printResult(
      options,
      () => describe(run.outcome, run.policy),
      () => toJson(run.outcome, run.policy),
    );
  } finally {
    interrupt.dispose();
  }
}

function describe(outcome: RetentionOutcome, policy: RetentionPolicy): string {
  const limits = describePolicy(policy);
  if (!outcome.ran) return "another process is applying retention right now; nothing was deleted";
  if (outcome.executions === 0n) return `nothing to delete: no execution is ${limits}`;
  const range = `recorded ${iso(outcome.oldestRecordedAtUs)} to ${iso(outcome.newestRecordedAtUs)}`;
  if (outcome.dryRun) return `would delete ${plural(outcome.executions, "execution")} ${limits} (${range}); nothing deleted (--dry-run)`;
  const how = `in ${plural(outcome.batches, "batch", "batches")}; aggregates kept`;
  const stopped = outcome.interrupted ? "; interrupted: run it again to delete the rest" : "";
  return `deleted ${plural(outcome.executions, "execution")} ${limits} (${range}) ${how}${stopped}`;
}

function describePolicy(policy: RetentionPolicy): string {
  const parts: string[] = [];
  if (policy.maxAgeDays !== undefined) parts.push(`older than ${policy.maxAgeDays} day${policy.maxAgeDays === 1 ? "" : "s"}`);
  if (policy.maxRows !== undefined) parts.push(`beyond the newest ${policy.maxRows}`);
  return parts.join(" or ");
}

function toJson(outcome: RetentionOutcome, policy: RetentionPolicy) {
  return {
    ran: outcome.ran,
    dryRun: outcome.dryRun,
    executions: Number(outcome.executions),
    oldestRecordedAt: outcome.oldestRecordedAtUs === null ? null : iso(outcome.oldestRecordedAtUs),
    newestRecordedAt: outcome.newestRecordedAtUs === null ? null : iso(outcome.newestRecordedAtUs),
    batches: outcome.batches,
    interrupted: outcome.interrupted,
    maxAgeDays: policy.maxAgeDays ?? null,
    maxRows: policy.maxRows ?? null,
  };
}

function iso(us: bigint | null): string {
  return us === null ? "?" : new Date(Number(us / 1000n)).toISOString();
}
