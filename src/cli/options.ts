import { type Command, Option } from "commander";
import { DEFAULT_ADDRESS } from "./client.js";

/** The options every client command takes, as commander parses them. */
export interface ClientOptions {
  /** Base URL of the service. */
  address: string;
  /** Print JSON instead of text. */
  json?: boolean;
}

/** Adds --address and --json to a command, so every client command accepts them the same way. */
export function withClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--address <url>", "base URL of the agent-learning service").env("AGENT_LEARNING_ADDRESS").default(DEFAULT_ADDRESS),
    )
    .addOption(new Option("--json", "print the result as JSON"));
}
