import { type Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { CliFailure } from "../../../src/cli/failure.js";
import { buildProgram } from "../../../src/cli/program.js";

// Nothing listens on port 1: a command that gets as far as its first RPC fails with "cannot
// reach", which proves its arguments parsed; a usage error fails earlier, in commander.
const NOWHERE = "http://127.0.0.1:1";

/** Runs the CLI's parser on the arguments, with commander's exits and output turned into values. */
async function run(args: string[]): Promise<{ error: unknown; stderr: string }> {
  const program = buildProgram();
  let stderr = "";
  const quiet = (command: Command) => {
    command.exitOverride().configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => {} });
    command.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(["node", "agent-learning", ...args]);
    return { error: undefined, stderr };
  } catch (error) {
    return { error, stderr };
  }
}

function expectUnreachable(result: { error: unknown }): void {
  expect(result.error).toBeInstanceOf(CliFailure);
  expect((result.error as CliFailure).message).toBe(`cannot reach agent-learning at ${NOWHERE}: is it running?`);
}

function expectUsageError(result: { error: unknown; stderr: string }, text: RegExp): void {
  expect(result.error).toBeInstanceOf(CommanderError);
  expect(result.stderr).toMatch(text);
}

describe("the command line", () => {
  it("accepts `simulate web_development 10` exactly as the README shows it", async () => {
    expectUnreachable(await run(["simulate", "web_development", "10", "--address", NOWHERE]));
  });

  it("accepts `simulate all N` with a seed and a follow share", async () => {
    expectUnreachable(await run(["simulate", "all", "25", "--seed", "7", "--follow-share", "0", "--address", NOWHERE]));
  });

  it("rejects an unknown task type or a bad count for simulate before connecting", async () => {
    expectUsageError(await run(["simulate", "cooking", "10"]), /expected one of all, web_development, security_audit/);
    expectUsageError(await run(["simulate", "bug_fix", "ten"]), /expected a whole number from 1/);
    expectUsageError(await run(["simulate", "bug_fix", "10", "--follow-share", "1.5"]), /expected a number from 0 to 1/);
  });

  it("accepts `predict web_development 2.0` exactly as the README shows it, and its options", async () => {
    expectUnreachable(await run(["predict", "web_development", "2.0", "--address", NOWHERE]));
    expectUnreachable(
      await run([
        "predict",
        "bug_fix",
        "3",
        "--count",
        "5",
        "--require",
        "DEBUGGER",
        "--exclude",
        "OPTIMIZER,C-INTERNAL",
        "--max-agents",
        "3",
        "--success-weight",
        "0.5",
        "--exploration",
        "0.1",
        "--default-agents",
        "DEBUGGER,TESTBED",
        "--address",
        NOWHERE,
      ]),
    );
  });

  it("rejects a complexity outside 0 to 10", async () => {
    expectUsageError(await run(["predict", "web_development", "11"]), /expected a number from 0 to 10/);
  });

  it("accepts analyze, insights and dashboard forms", async () => {
    expectUnreachable(await run(["analyze", "--task-type", "bug_fix", "--address", NOWHERE]));
    expectUnreachable(
      await run(["insights", "--type", "best_combo,avoid_pattern", "--min-confidence", "0.9", "--status", "retired", "--address", NOWHERE]),
    );
    expectUnreachable(await run(["dashboard", "--once", "--address", NOWHERE]));
  });

  it("rejects unknown insight types and statuses with the valid names", async () => {
    expectUsageError(
      await run(["insights", "--type", "best_team"]),
      /unknown insight type "best_team"; expected one of best_combo, avoid_pattern/,
    );
    expectUsageError(await run(["insights", "--status", "maybe"]), /Allowed choices are active, retired/);
  });

  it("refuses --after without --follow", async () => {
    const { error } = await run(["insights", "--after", "abc"]);
    expect(error).toBeInstanceOf(CliFailure);
    expect((error as CliFailure).message).toBe("--after applies only with --follow");
  });
});
