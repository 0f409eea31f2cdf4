import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files known to run longest although they are small: one follower loop of 6,000 sequential
 * calls (about 40 s of one worker on a quiet 2-core machine), three trainings on histories of up
 * to 20,000 executions (30 s), concurrent retraining (20-30 s), one test of 4,000 PredictAgents
 * calls. Without timings of an earlier run (a fresh clone, CI), vitest starts larger files first,
 * which put these at the end of the run with the other worker idle beside them. Listed here, they
 * start first.
 */
const LONGEST_FIRST = [
  "test/integration/learning-follower.test.ts",
  "test/integration/models-regret.test.ts",
  "test/integration/models-retrain-concurrent.test.ts",
  "test/integration/learning-decisions.test.ts",
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
