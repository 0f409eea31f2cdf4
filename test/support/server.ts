import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createPool, type DatabasePool } from "slonik";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { type ConfigInput, loadConfig } from "../../src/config.js";
import { startService } from "../../src/main.js";
import type { LogWriterStats } from "../../src/service/recommendation-log-writer.js";
import { createMigratedTestDatabase, dropTestDatabase } from "./database.js";

/** What a plain HTTP/1.1 Connect JSON call answered. */
export interface JsonReply {
  /** HTTP status. */
  status: number;
  /** Response headers. */
  headers: Headers;
  /** The parsed JSON body (a message on success, a Connect error object on failure). */
  body: unknown;
}

/** A real service running in this process on a port of its own, with clients ready to use. */
export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The bound port. */
  port: number;
  /** The database this server uses. */
  databaseUrl: string;
  /** The models directory this server writes (a temporary one unless the test gave one). */
  modelsDir: string;
  /** LearningService over gRPC (HTTP/2). */
  learning: Client<typeof LearningService>;
  /** AdminService over gRPC (HTTP/2). */
  admin: Client<typeof AdminService>;
  /** A slonik pool on the server's database, for tests that check what was written in SQL. */
  db: DatabasePool;
  /** POSTs `body` as Connect JSON over HTTP/1.1 to `path` (e.g. "agentlearning.v1.LearningService/RecordExecution"). */
  connectJson(path: string, body: unknown): Promise<JsonReply>;
  /**
   * Writes PredictAgents' queued logs now: a test that reads `recommendations` or `decisions`
   * directly right after calls flushes first (the service's own readers do it themselves).
   */
  flushLogs(): Promise<void>;
  /** What the batched recommendation log writer has done (statements, answers, queue). */
  logStats(): LogWriterStats;
  /** Stops the service gracefully; drops the database too when this helper created it. */
  stop(): Promise<void>;
}

/** Options of `startTestServer`. */
export interface TestServerOptions {
  /** Use this database (kept on stop) instead of creating a fresh one (dropped on stop). */
  databaseUrl?: string;
  /** Further configuration, e.g. a short shutdownGraceMs. */
  config?: ConfigInput;
}

/**
 * Starts the real service in-process on a free loopback port, against a fresh database (a clone
 * of the run's migrated template) unless one is given, so integration tests exercise exactly what
 * `serve` runs, over real sockets.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsDatabase = options.databaseUrl === undefined;
  const databaseUrl = options.databaseUrl ?? (await createMigratedTestDatabase());
  // Tests never write to the repository's models/: a fresh directory per server unless given.
  const ownsModelsDir = options.config?.modelsDir === undefined;
  const modelsDir = options.config?.modelsDir ?? (await mkdtemp(path.join(tmpdir(), "agent-learning-test-models-")));
  const removeModelsDir = async () => {
    if (ownsModelsDir) await rm(modelsDir, { recursive: true, force: true });
  };
  try {
    const service = await startService(
      loadConfig({}, { ...options.config, port: 0, host: "127.0.0.1", databaseUrl, logLevel: "silent", modelsDir }),
    );
    const transport = createGrpcTransport({ baseUrl: service.url });
    const db = await createPool(databaseUrl, { maximumPoolSize: 3 });
    let stopping: Promise<void> | undefined;
    return {
      url: service.url,
      port: service.port,
      databaseUrl,
      modelsDir,
      learning: createClient(LearningService, transport),
      admin: createClient(AdminService, transport),
      db,
      async connectJson(path, body) {
        const response = await fetch(`${service.url}/${path.replace(/^\//, "")}`, {
          method: "POST",
          headers: { "content-type": "application/json", "connect-protocol-version": "1" },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
      },
      flushLogs: () => service.recommendationLog.flush(),
      logStats: () => service.recommendationLog.stats(),
      stop() {
        stopping ??= (async () => {
          try {
            await service.stop();
          } finally {
            await db.end();
            await removeModelsDir();
            if (ownsDatabase) await dropTestDatabase(databaseUrl);
          }
        })();
        return stopping;
      },
    };
  } catch (error) {
    await removeModelsDir();
    if (ownsDatabase) await dropTestDatabase(databaseUrl);
    throw error;
  }
}
