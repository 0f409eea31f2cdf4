import { defineConfig } from "vitest/config";

// The web console's tests in a real browser (Debian's chromium driven by playwright-core),
// against a real server: `npm run test:browser`. Kept apart from `npm test` so that the unit
// and integration suite needs no browser; .ci/run installs chromium and runs both.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
