import { type Command, InvalidArgumentError } from "commander";
import { loadConfig, type ConfigInput } from "../../config.js";
import { createLogger, startService } from "../../main.js";
import { CliFailure } from "../failure.js";
import { printErrors } from "../output.js";

interface ServeOptions {
  port?: number;
  host?: string;
}

/** Registers `serve`: runs the service in this process until SIGTERM or SIGINT. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the service (gRPC, gRPC-Web and Connect on one port); configured by the environment, see README")
    .option("--port <n>", "port to listen on (env PORT, default 50051; 0 picks a free one)", parsePort)
    .option("--host <host>", "address to bind (env HOST, default 127.0.0.1)")
    .action((options: ServeOptions) => serve(options));
}

/**
 * Starts the service and holds it until a signal: the first SIGTERM/SIGINT drains and stops it
 * (exit 0, or 1 if stopping fails), a second one exits at once with 1 for an operator who
 * cannot wait for the drain.
 */
async function serve(options: ServeOptions): Promise<void> {
  const overrides: ConfigInput = {};
  if (options.port !== undefined) overrides.port = options.port;
  if (options.host !== undefined) overrides.host = options.host;
  const config = loadConfig(process.env, overrides);
  const log = createLogger(config.logLevel);

  // Signals are taken from the start: one arriving while PostgreSQL or the listener is still
  // coming up must stop what has started, not kill the process and orphan an embedded database.
  const starting = startService(config, log);
  let signalled = false;
  let startFailed = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      printErrors([`${signal} again: exiting without waiting for shutdown to finish`]);
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, "signal received: stopping");
    starting
      .then((service) => service.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          // A start that failed is reported by the awaiting code below; only a failed stop is reported here.
          if (startFailed) return;
          printErrors([`error: shutdown failed: ${error instanceof Error ? error.message : String(error)}`]);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    await starting;
  } catch (error) {
    startFailed = true;
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    throw new CliFailure(`cannot start agent-learning: ${startFailureReason(error, config.host, config.port)}`);
  }
}

/** One line saying why start failed, with the common causes spelled out. */
function startFailureReason(error: unknown, host: string, port: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE") return `port ${port} on ${host} is already in use`;
  if (code === "EADDRNOTAVAIL") return `cannot bind to ${host}: no such local address`;
  if (code === "EACCES") return `not allowed to listen on ${host}:${port}`;
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return port;
}
