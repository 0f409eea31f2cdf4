import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The browser tests run apart (npm run test:browser): they need Chromium.
    exclude: ["test/browser/**", "**/node_modules/**"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each integration file gets its own database and server. On 2 cores vitest runs one file at
    // a time (cores - 1 workers): two at once saved only a fifth of the wall time here (402 s to
    // 325 s) as files fight over the CPUs, and took margin from the fault tests' timings.
    pool: "forks",
    fileParallelism: true,
  },
});
