import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The answer of an RPC the contract defines but this build does not serve yet: UNIMPLEMENTED
 * with the reason, never a made-up result, so clients can code against the whole API today.
 */
export function notYetAvailable(method: string, arrivesWith: string): ConnectError {
  return new ConnectError(`${method} is not implemented yet: it arrives with ${arrivesWith}`, Code.Unimplemented);
}
