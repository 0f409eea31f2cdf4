import { HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import type { BenchClients } from "./service.js";

/**
 * Baseline A: one `grpc.health.v1.Health/Check` for the whole server, answered from memory. It
 * costs the same transport, interceptors and framing as any RPC and nothing else, so the gap to
 * it is what RecordExecution itself costs (validation, SQL, commit).
 */
export function noopCall(bench: Pick<BenchClients, "health">): (n: number) => Promise<void> {
  return async () => {
    const response = await bench.health.check({ service: "" });
    if (response.status !== HealthCheckResponse_ServingStatus.SERVING) {
      throw new Error(`Health/Check answered ${HealthCheckResponse_ServingStatus[response.status]}, not SERVING`);
    }
  };
}
