import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/agentlearning/v1/admin_service_pb.js";
import { LearningService } from "../../gen/agentlearning/v1/learning_service_pb.js";
import { CliFailure } from "./failure.js";

/** Where the CLI looks for the service when neither --address nor AGENT_LEARNING_ADDRESS says. */
export const DEFAULT_ADDRESS = "http://localhost:50051";

/** The generated clients of both services, sharing one HTTP/2 connection. */
export interface ServiceClients {
  /** The address the clients talk to, as given. */
  address: string;
  /** LearningService: record, predict, insights. */
  learning: Client<typeof LearningService>;
  /** AdminService: status, bulk export and import, models. */
  admin: Client<typeof AdminService>;
  /** Closes the connection so the process can exit as soon as the command is done. */
  close(): void;
}

/**
 * Connects the CLI to a running service the way any other client would: gRPC over HTTP/2
 * (cleartext h2c for http://, TLS for https://) through the generated clients.
 */
export function connectClients(address: string): ServiceClients {
  const baseUrl = parseAddress(address);
  // Our own session manager, so `close` can end the connection instead of waiting for it to idle out.
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({ baseUrl, sessionManager });
  return {
    address,
    learning: createClient(LearningService, transport),
    admin: createClient(AdminService, transport),
    close: () => sessionManager.abort(),
  };
}

/** Rejects anything but an http(s) URL up front, with a message naming the flag. */
function parseAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new CliFailure(`invalid --address ${JSON.stringify(address)}: expected a URL such as ${DEFAULT_ADDRESS}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliFailure(`invalid --address ${JSON.stringify(address)}: the scheme must be http or https`);
  }
  return url.href.replace(/\/$/, "");
}
