import { connectClients, type ServiceClients } from "./client.js";
import { describeFailure } from "./failure.js";

/**
 * Runs one client command: connects, runs it, always closes the connection, and turns whatever
 * went wrong into a CliFailure that names the address.
 */
export async function withClient<T>(address: string, run: (clients: ServiceClients) => Promise<T>): Promise<T> {
  const clients = connectClients(address);
  try {
    return await run(clients);
  } catch (error) {
    throw describeFailure(error, address);
  } finally {
    clients.close();
  }
}
