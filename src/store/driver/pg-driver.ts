import { createPgDriverFactory } from "@slonik/pg-driver";
import type { DriverFactory } from "slonik";
import { withSettledDestroy } from "./settled-destroy.js";
import { unreachableClient } from "./unreachable-client.js";

/**
 * The pg driver slonik uses by default, made to survive PostgreSQL going away under load: a
 * connection lost mid-query frees its slot (settled-destroy.ts), and a failed connection attempt
 * fails its caller and then the callers queued behind it instead of stranding them
 * (unreachable-client.ts). Both work around slonik 47 pool defects that slonik 49 fixes.
 */
export function createStoreDriverFactory(): DriverFactory {
  const base = createPgDriverFactory();
  return async (options) => {
    const driver = await base(options);
    return {
      createClient: async () => {
        try {
          return withSettledDestroy(await driver.createClient());
        } catch (error) {
          return unreachableClient(error);
        }
      },
    };
  };
}
