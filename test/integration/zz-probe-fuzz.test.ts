import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, it } from "vitest";
import { makeExecution } from "../support/executions.js";
import { postRaw, envelope } from "../support/fuzz.js";
import { toBinary, create } from "@bufbuild/protobuf";
import { RecordExecutionRequestSchema } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { RawH2Client } from "../support/fuzz.js";
import { z } from "zod";
let server: TestServer;
beforeAll(async () => { server = await startTestServer({}); });
afterAll(async () => { await server?.stop(); });
it("probe", async () => {
  console.log("zod", JSON.stringify(z.record(z.string(), z.number()).parse(JSON.parse('{"__proto__": 1, "a": 2}'))), Object.keys(z.record(z.string(), z.number()).parse(JSON.parse('{"__proto__": 1, "a": 2}'))));
  const cases = { nulId: makeExecution({ executionId: "a\u0000'; DROP" }), longMetric: makeExecution({ resourceUsage: { metrics: { ["'".repeat(65)]: 1 } } }), nulDesc: makeExecution({ taskDescription: "a\u0000b" }) };
  for (const [name, e] of Object.entries(cases)) {
    const r = await server.learning.recordExecution({ execution: e }).catch((x: unknown) => ConnectError.from(x));
    console.log(name, r instanceof ConnectError ? `${r.code} ${r.message}` : "ok");
    const raw = new RawH2Client(server.url);
    const reply = await raw.request("/agentlearning.v1.LearningService/RecordExecution", { "content-type": "application/grpc", te: "trailers" }, envelope(toBinary(RecordExecutionRequestSchema, create(RecordExecutionRequestSchema, { execution: e }))));
    console.log(name, "raw", reply.grpcStatus, JSON.stringify(reply.grpcMessage).slice(0, 300), JSON.stringify(reply.trailers).slice(0, 600));
    raw.close();
  }
}, 60_000);
