import { type Command, Option } from "commander";
import { DEFAULT_ADDRESS, useCredentials } from "./client.js";

/** The options every client command takes, as commander parses them. */
export interface ClientOptions {
  /** Base URL of the service. */
  address: string;
  /** Print JSON instead of text. */
  json?: boolean;
  /** Bearer token for a server with access control. */
  token?: string;
  /** CA file that signed the server's certificate (https://). */
  ca?: string;
  /** Client certificate file for mutual TLS. */
  cert?: string;
  /** Private key file of the client certificate. */
  key?: string;
}

/**
 * Adds --address, --json and the credential options (--token, --ca, --cert, --key) to a command,
 * so every client command accepts them the same way. The credentials reach the connection through
 * a hook that runs before the command's action, so commands need not pass them on themselves.
 */
export function withClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--address <url>", "base URL of the agent-learning service").env("AGENT_LEARNING_ADDRESS").default(DEFAULT_ADDRESS),
    )
    .addOption(new Option("--json", "print the result as JSON"))
    .addOption(
      new Option("--token <token>", "bearer token for a server with access control (the env var keeps it out of `ps`)").env(
        "AGENT_LEARNING_TOKEN",
      ),
    )
    .addOption(new Option("--ca <file>", "PEM file of the CA that signed the server's certificate (https://)").env("AGENT_LEARNING_CA"))
    .addOption(new Option("--cert <file>", "PEM client certificate, for a server that requires one (https://)").env("AGENT_LEARNING_CERT"))
    .addOption(new Option("--key <file>", "PEM private key of --cert").env("AGENT_LEARNING_KEY"))
    .hook("preAction", (_command, action) => {
      // A subcommand's options may have been taken by its parent (`models --token … activate`
      // and `models activate --token …` alike): read both.
      const { token, ca, cert, key } = action.optsWithGlobals<ClientOptions>();
      useCredentials({ token, ca, cert, key });
    });
}
