import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../gen/agentlearning/v1/learning_service_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { type ConfigInput, loadConfig } from "../src/config.js";
import { type RunningService, startService } from "../src/main.js";

/** gRPC clients of one server, the ones every section calls. */
export interface BenchClients {
  learning: Client<typeof LearningService>;
  admin: Client<typeof AdminService>;
  health: Client<typeof Health>;
}

/** The service running in this process on a database of its own, and gRPC clients of it. */
export interface BenchService extends BenchClients {
  service: RunningService;
  stop(): Promise<void>;
}

/**
 * Clients of the server at `url` speaking gRPC over h2c through one HTTP/2 connection, as an
 * orchestrator's channel would; `close` drops that connection. Shared by the in-process service
 * and the soak's child process, so every section measures the same client. `defaultTimeoutMs`
 * bounds calls that set no deadline of their own (none by default).
 */
export function connectBenchClients(url: string, defaultTimeoutMs?: number): BenchClients & { close(): void } {
  const sessionManager = new Http2SessionManager(url);
  const transport = createGrpcTransport({ baseUrl: url, sessionManager, defaultTimeoutMs });
  return {
    learning: createClient(LearningService, transport),
    admin: createClient(AdminService, transport),
    health: createClient(Health, transport),
    close: () => sessionManager.abort(),
  };
}

/**
 * Starts the real service in-process (silent logs, any free port) on `databaseUrl`, with clients
 * speaking gRPC over h2c through one HTTP/2 connection, as an orchestrator's channel would.
 * The environment is not read, so a DATABASE_URL meant for the bench does not leak into config;
 * `overrides` change settings a section needs (e.g. automatic jobs switched off).
 */
export async function startBenchService(databaseUrl: string, overrides: ConfigInput = {}): Promise<BenchService> {
  // Models the bench trains are written to a directory of its own, never the repository's models/.
  const modelsDir = overrides.modelsDir ?? (await mkdtemp(path.join(tmpdir(), "agent-learning-bench-models-")));
  const config = loadConfig({}, { logLevel: "silent", ...overrides, databaseUrl, port: 0, modelsDir });
  const service = await startService(config);
  const { close, ...clients } = connectBenchClients(service.url);
  return {
    service,
    ...clients,
    async stop() {
      close();
      await service.stop();
      if (overrides.modelsDir === undefined) await rm(modelsDir, { recursive: true, force: true });
    },
  };
}

/**
 * The sanity check after each section: GetStatus must count exactly the executions the bench had
 * acknowledged. A mismatch under load is a correctness bug, so the bench stops loudly.
 */
export async function assertExecutionCount(bench: Pick<BenchClients, "admin">, expected: number, section: string): Promise<void> {
  const status = await bench.admin.getStatus({});
  if (status.executionCount !== BigInt(expected)) {
    throw new Error(
      `SANITY CHECK FAILED in ${section}: GetStatus execution_count is ${status.executionCount}, ` +
        `but ${expected} executions were acknowledged`,
    );
  }
}
