// A client that shares nothing with the server's code: @grpc/grpc-js on the wire and protobufjs
// (through @grpc/proto-loader) reading the .proto files, so what it proves about the wire format
// is not proved by our own generated code agreeing with itself.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** A message as proto-loader renders it: camelCase fields, int64 as strings, enums as names. */
export type PlainMessage = Record<string, unknown>;

/** The two API services, by the name the tests use. */
export type ServiceKey = "learning" | "admin";

/** An independent gRPC client of both API services. */
export interface GrpcJsClient {
  /** Calls a unary method (by its proto name, e.g. "RecordExecution"); rejects with a grpc.ServiceError. */
  unary(service: ServiceKey, method: string, request: PlainMessage): Promise<PlainMessage>;
  /** Calls a server-streaming method and collects every message until the stream ends. */
  serverStream(service: ServiceKey, method: string, request: PlainMessage): Promise<PlainMessage[]>;
  /** Closes the channels. */
  close(): void;
}

const protoRoot = fileURLToPath(new URL("../../proto/", import.meta.url));

/** proto-loader options chosen so messages are easy to read and int64 values stay exact. */
const loaderOptions: protoLoader.Options = {
  includeDirs: [protoRoot],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

type UnaryMethod = (
  request: PlainMessage,
  callback: (error: grpc.ServiceError | null, response?: PlainMessage) => void,
) => grpc.ClientUnaryCall;
type StreamMethod = (request: PlainMessage) => grpc.ClientReadableStream<PlainMessage>;

function serviceConstructor(root: grpc.GrpcObject, service: string): grpc.ServiceClientConstructor {
  const found = service.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], root);
  if (typeof found !== "function") throw new Error(`service ${service} not found in the loaded protos`);
  return found as grpc.ServiceClientConstructor;
}

/** Connects to `url` (http://host:port) with plaintext HTTP/2, loading the API from proto/. */
export function createGrpcJsClient(url: string): GrpcJsClient {
  const definition = protoLoader.loadSync(
    ["agentlearning/v1/learning_service.proto", "agentlearning/v1/admin_service.proto"],
    loaderOptions,
  );
  const root = grpc.loadPackageDefinition(definition);
  const target = new URL(url).host;
  const credentials = grpc.credentials.createInsecure();
  const clients: Record<ServiceKey, grpc.Client> = {
    learning: new (serviceConstructor(root, "agentlearning.v1.LearningService"))(target, credentials),
    admin: new (serviceConstructor(root, "agentlearning.v1.AdminService"))(target, credentials),
  };
  const method = <M>(service: ServiceKey, name: string): M => {
    const client = clients[service] as unknown as Record<string, unknown>;
    const fn = client[name];
    if (typeof fn !== "function") throw new Error(`${service} has no method ${name}`);
    return fn.bind(client) as M;
  };
  return {
    unary(service, name, request) {
      const call = method<UnaryMethod>(service, name);
      return new Promise((resolve, reject) => {
        call(request, (error, response) => (error ? reject(error) : resolve(response ?? {})));
      });
    },
    serverStream(service, name, request) {
      const stream = method<StreamMethod>(service, name)(request);
      return new Promise((resolve, reject) => {
        const messages: PlainMessage[] = [];
        stream.on("data", (message: PlainMessage) => messages.push(message));
        stream.on("error", reject);
        stream.on("end", () => resolve(messages));
      });
    },
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}

/** Whether an error is a gRPC status error from grpc-js. */
export function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === "number" && "metadata" in error;
}

export { grpc };
