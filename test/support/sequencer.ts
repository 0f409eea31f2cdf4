import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The integration files that ran longest in a quiet run of the whole suite on this 2-core machine
 * (seconds of one worker, 2026-12-02): many are small files whose time goes to sequential calls
 * or training. Without timings of an earlier run (a fresh clone, CI), vitest starts the larger
 * files first, which put several of these at the end of the run with the other worker idle beside
 * them (a fresh-clone run took 316 s against 226 s for the same code with timings, though a cold
 * machine accounts for part of that). Listed here, they start first, longest first; refresh the
 * list when the suite's shape changes.
 */
const LONGEST_FIRST = [
  "test/integration/auth.test.ts", // 18–31 s: CLI processes and many servers
  "test/integration/models-regret.test.ts", // 25–27 s: three trainings on up to 20,000 executions
  "test/integration/learning-follower.test.ts", // 25–42 s: one loop of 3,000 predict-and-record steps
  "test/integration/models-serving.test.ts", // 25 s
  "test/integration/models-rollout.test.ts", // 21 s
  "test/integration/models-gate.test.ts", // 19 s
  "test/integration/cli.test.ts", // 13 s
  "test/integration/retention.test.ts", // 12 s
  "test/integration/models-retrain.test.ts", // 12 s
  "test/integration/models-retrain-concurrent.test.ts", // 11 s
  "test/integration/learning-decisions.test.ts", // 10 s
  "test/integration/models-accuracy.test.ts", // 10 s
  "test/integration/embedded-postgres.test.ts", // 9 s
];

/** Vitest's order (by earlier timings, else by size), with LONGEST_FIRST moved to the front of their project. */
export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    const ordered = await super.sort(files);
    const position = new Map(ordered.map((spec, i) => [spec, i]));
    // Array.prototype.sort is stable: outside the list, vitest's order stands; projects and their
    // group order (the "alone" files after all others) are kept by sorting on them first.
    const result = [...ordered].sort((a, b) => {
      const group = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (group !== 0) return group;
      if (a.project.name !== b.project.name) return (position.get(a) ?? 0) - (position.get(b) ?? 0);
      return rank(a) - rank(b) || (position.get(a) ?? 0) - (position.get(b) ?? 0);
    });
    return result;
  }
}
