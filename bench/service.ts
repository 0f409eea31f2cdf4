import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../gen/agentlearning/v1/learning_service_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { type ConfigInput, loadConfig } from "../src/config.js";
import { type RunningService, startService } from "../src/main.js";

/** The service running in this process on a database of its own, and gRPC clients of it. */
export interface BenchService {
  service: RunningService;
  learning: Client<typeof LearningService>;
  admin: Client<typeof AdminService>;
  health: Client<typeof Health>;
  stop(): Promise<void>;
}

/**
 * Starts the real service in-process (silent logs, any free port) on `databaseUrl`, with clients
 * speaking gRPC over h2c through one HTTP/2 connection, as an orchestrator's channel would.
 * The environment is not read, so a DATABASE_URL meant for the bench does not leak into config;
 * `overrides` change settings a section needs (e.g. automatic jobs switched off).
 */
export async function startBenchService(databaseUrl: string, overrides: ConfigInput = {}): Promise<BenchService> {
  const config = loadConfig({}, { ...overrides, databaseUrl, port: 0, logLevel: "silent" });
  const service = await startService(config);
  const sessionManager = new Http2SessionManager(service.url);
  const transport = createGrpcTransport({ baseUrl: service.url, sessionManager });
  return {
    service,
    learning: createClient(LearningService, transport),
    admin: createClient(AdminService, transport),
    health: createClient(Health, transport),
    async stop() {
      sessionManager.abort();
      await service.stop();
    },
  };
}

/**
 * The sanity check after each section: GetStatus must count exactly the executions the bench had
 * acknowledged. A mismatch under load is a correctness bug, so the bench stops loudly.
 */
export async function assertExecutionCount(bench: BenchService, expected: number, section: string): Promise<void> {
  const status = await bench.admin.getStatus({});
  if (status.executionCount !== BigInt(expected)) {
    throw new Error(
      `SANITY CHECK FAILED in ${section}: GetStatus execution_count is ${status.executionCount}, ` +
        `but ${expected} executions were acknowledged`,
    );
  }
}
