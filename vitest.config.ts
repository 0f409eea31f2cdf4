import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each integration file gets its own database and server; two cores run two files at once.
    pool: "forks",
    fileParallelism: true,
  },
});
