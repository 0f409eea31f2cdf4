import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./test/support/sequencer.js";

/**
 * Files whose assertions bound how long something takes (recovery from a killed server or a
 * crashed PostgreSQL, deadlines of a few milliseconds, the fuzzer's 5 s answer limit on 1 MB
 * messages): they run alone, after the others, so a neighbour's CPU use cannot eat their margin.
 */
const ALONE = [
  "test/integration/fault-crash.test.ts",
  "test/integration/fault-outage.test.ts",
  "test/integration/pool-lost-connection.test.ts",
  "test/integration/limits.test.ts",
  "test/integration/fuzz.test.ts",
];

/** Every other integration file has a database and a server of its own: two run at once. */
const TOGETHER = 2;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        extends: true,
        // Pure logic, no I/O: no PostgreSQL is started for these (`npm run test:unit`). They share
        // their workers' module graph (isolate: false): no unit file mocks, stubs or changes global
        // state, and importing src again for each of ~50 files was half the project's CPU time.
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          maxWorkers: TOGETHER,
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          exclude: ALONE,
          // The run's one PostgreSQL with its migrated template (shared with the project below).
          globalSetup: ["test/support/global-setup.ts"],
          maxWorkers: TOGETHER,
          // Files share their worker's module graph: each starts and stops its own servers and
          // databases, none mocks or changes process-wide state, and src is imported once per
          // worker instead of once per file (about 0.45 s of CPU a file). The files below keep a
          // process each: they kill servers and PostgreSQL, and time what follows.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "alone",
          include: ALONE,
          globalSetup: ["test/support/global-setup.ts"],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
