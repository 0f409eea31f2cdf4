import { describe, expect, it } from "vitest";
import { teamKey as key } from "../../../src/domain/team.js";
import { CATALOG_AGENTS } from "../../../src/sim/catalog.js";
import { createRng } from "../../../src/sim/random.js";
import { BEST_SUCCESS, createWorld, DEPENDENCY_CONFLICT, GENERIC_ERRORS, REFERENCE_COMPLEXITY } from "../../../src/sim/world.js";

const world = createWorld(1);
const hasPair = (team: readonly string[], [a, b]: readonly [string, string]) => team.includes(a) && team.includes(b);
const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe("the synthetic world", () => {
  it("has the five documented task types", () => {
    expect(world.taskTypes).toEqual(["web_development", "security_audit", "data_pipeline", "bug_fix", "documentation"]);
  });

  it("is the same world for the same seed, draw for draw", () => {
    const again = createWorld(1);
    for (const taskType of world.taskTypes) {
      for (const team of world.candidateTeams(taskType)) {
        expect(again.successProbability(taskType, team, 3.3)).toBe(world.successProbability(taskType, team, 3.3));
        expect(again.expectedDuration(taskType, team, 3.3)).toBe(world.expectedDuration(taskType, team, 3.3));
      }
    }
    const draws = (w: typeof world) => {
      const rng = createRng(99);
      return Array.from({ length: 50 }, () => w.sampleExecution("bug_fix", w.randomTeam("bug_fix", rng), w.sampleComplexity(rng), rng));
    };
    expect(draws(again)).toEqual(draws(world));
  });

  it("varies only the near-neutral agents with the seed: the planted structure stays", () => {
    const other = createWorld(2);
    const ordinary = ["PLANNER", "CONSTRUCTOR"];
    expect(other.successProbability("web_development", ordinary, 2)).not.toBe(world.successProbability("web_development", ordinary, 2));
    for (const taskType of world.taskTypes) {
      expect(other.bestCombination(taskType)).toEqual(world.bestCombination(taskType));
      expect(other.badPair(taskType)).toEqual(world.badPair(taskType));
      expect(other.successProbability(taskType, other.bestCombination(taskType), 2)).toBeCloseTo(BEST_SUCCESS, 12);
    }
  });

  it("offers 10 to 15 distinct candidate teams of distinct catalog agents per task type", () => {
    for (const taskType of world.taskTypes) {
      const teams = world.candidateTeams(taskType);
      expect(teams.length).toBeGreaterThanOrEqual(10);
      expect(teams.length).toBeLessThanOrEqual(15);
      expect(new Set(teams.map(key)).size).toBe(teams.length);
      for (const team of teams) {
        expect(new Set(team).size).toBe(team.length);
        for (const agent of team) expect(CATALOG_AGENTS).toContain(agent);
      }
    }
  });

  it("includes among the candidates the best team, two teams with the bad pair, each bad agent alone, and the slow agent", () => {
    for (const taskType of world.taskTypes) {
      const teams = world.candidateTeams(taskType);
      const pair = world.badPair(taskType);
      expect(teams.map(key)).toContain(key(world.bestCombination(taskType)));
      expect(teams.filter((team) => hasPair(team, pair)).length).toBeGreaterThanOrEqual(2);
      expect(teams.some((team) => team.includes(pair[0]) && !team.includes(pair[1]))).toBe(true);
      expect(teams.some((team) => team.includes(pair[1]) && !team.includes(pair[0]))).toBe(true);
      expect(teams.some((team) => team.includes(world.slowAgent(taskType)))).toBe(true);
    }
  });

  it("gives the best combination of 2 to 4 agents clearly the highest success among candidates, at every complexity", () => {
    for (const taskType of world.taskTypes) {
      const best = world.bestCombination(taskType);
      expect(best.length).toBeGreaterThanOrEqual(2);
      expect(best.length).toBeLessThanOrEqual(4);
      expect(world.successProbability(taskType, best, REFERENCE_COMPLEXITY)).toBeGreaterThanOrEqual(0.9);
      for (const complexity of [0, 0.5, 2, 5, 10]) {
        const pBest = world.successProbability(taskType, best, complexity);
        for (const team of world.candidateTeams(taskType)) {
          if (key(team) === key(best)) continue;
          expect(
            pBest - world.successProbability(taskType, team, complexity),
            `${taskType} ${team.join("+")} at ${complexity}`,
          ).toBeGreaterThan(0.05);
        }
      }
    }
  });

  it("keeps ordinary candidate teams in a realistic band below the best", () => {
    for (const taskType of world.taskTypes) {
      const pair = world.badPair(taskType);
      const best = key(world.bestCombination(taskType));
      const ordinary = world
        .candidateTeams(taskType)
        .filter((team) => key(team) !== best && !hasPair(team, pair))
        .map((team) => world.successProbability(taskType, team, REFERENCE_COMPLEXITY));
      expect(median(ordinary)).toBeGreaterThan(0.5);
      expect(median(ordinary)).toBeLessThan(0.8);
      expect(Math.max(...ordinary)).toBeLessThan(BEST_SUCCESS - 0.1);
    }
  });

  it("makes the best combination faster than the task type's typical candidate", () => {
    for (const taskType of world.taskTypes) {
      const durations = world.candidateTeams(taskType).map((team) => world.expectedDuration(taskType, team, 2));
      expect(world.expectedDuration(taskType, world.bestCombination(taskType), 2)).toBeLessThan(median(durations));
    }
  });

  it("makes teams holding the bad pair fail far more often, because of the pair and not of either agent", () => {
    for (const taskType of world.taskTypes) {
      const pair = world.badPair(taskType);
      const teams = world.candidateTeams(taskType);
      const others = teams.filter((team) => !hasPair(team, pair)).map((team) => world.successProbability(taskType, team, 2));
      for (const team of teams.filter((t) => hasPair(t, pair))) {
        const p = world.successProbability(taskType, team, 2);
        expect(p).toBeLessThan(0.4 * median(others));
        // The same team with either agent of the pair removed does far better.
        for (const agent of pair) {
          expect(p).toBeLessThan(
            0.4 *
              world.successProbability(
                taskType,
                team.filter((a) => a !== agent),
                2,
              ),
          );
        }
      }
    }
  });

  it("lowers success and lengthens runs as complexity grows", () => {
    for (const taskType of world.taskTypes) {
      for (const team of world.candidateTeams(taskType)) {
        const complexities = [0, 0.5, 1, 2, 3.5, 5, 10];
        const success = complexities.map((c) => world.successProbability(taskType, team, c));
        const duration = complexities.map((c) => world.expectedDuration(taskType, team, c));
        for (let i = 1; i < complexities.length; i++) {
          expect(success[i]!).toBeLessThan(success[i - 1]!);
          expect(duration[i]!).toBeGreaterThan(duration[i - 1]!);
        }
      }
    }
  });

  it("treats agent order and case as irrelevant, and agents outside the catalog as neutral", () => {
    const best = world.bestCombination("bug_fix");
    const p = world.successProbability("bug_fix", best, 2);
    expect(
      world.successProbability(
        "bug_fix",
        [...best].reverse().map((a) => a.toLowerCase()),
        2,
      ),
    ).toBe(p);
    const team = ["CONSTRUCTOR", "LINTER"];
    expect(world.successProbability("bug_fix", [...team, "SOMEONE-NEW"], 2)).toBeCloseTo(world.successProbability("bug_fix", team, 2), 12);
  });

  it("rejects an unknown task type, naming the known ones", () => {
    expect(() => world.successProbability("cooking", ["WEB"], 2)).toThrow(/unknown task type "cooking"; known: web_development/);
  });
});

describe("sampling executions", () => {
  const DRAWS = 5_000;
  // A success frequency over n draws has standard deviation √(p(1−p)/n) ≤ 0.0071 for n = 5,000.
  // Allowing 4 of them makes a false alarm a 1-in-15,000 event per comparison, while a bias of
  // 0.03 (e.g. the conflict applied twice, or complexity ignored) is still caught.
  const tolerance = (p: number) => 4 * Math.sqrt((p * (1 - p)) / DRAWS);

  it("succeeds as often as successProbability says, for the best, a bad-pair and an ordinary team", () => {
    const rng = createRng(2024);
    for (const taskType of world.taskTypes) {
      const pair = world.badPair(taskType);
      const teams = world.candidateTeams(taskType);
      const chosen = [
        world.bestCombination(taskType),
        teams.find((team) => hasPair(team, pair))!,
        teams.find((team) => !hasPair(team, pair) && key(team) !== key(world.bestCombination(taskType)))!,
      ];
      for (const team of chosen) {
        for (const complexity of [1, 4]) {
          const p = world.successProbability(taskType, team, complexity);
          let successes = 0;
          for (let i = 0; i < DRAWS; i++) if (world.sampleExecution(taskType, team, complexity, rng).success) successes++;
          expect(Math.abs(successes / DRAWS - p), `${taskType} ${team.join("+")} at ${complexity}`).toBeLessThanOrEqual(tolerance(p));
        }
      }
    }
  });

  it("takes as long on average as expectedDuration says", () => {
    // Log-normal with σ = 0.35: the relative standard error of a mean of 5,000 is about 0.5%.
    const rng = createRng(77);
    const team = world.bestCombination("data_pipeline");
    let total = 0;
    for (let i = 0; i < DRAWS; i++) total += world.sampleExecution("data_pipeline", team, 2.5, rng).durationSeconds;
    expect(Math.abs(total / DRAWS / world.expectedDuration("data_pipeline", team, 2.5) - 1)).toBeLessThan(0.03);
  });

  it("reports the dependency conflict as the dominant error of bad-pair teams, in its fixed words", () => {
    const rng = createRng(5);
    const [a, b] = world.badPair("web_development");
    const team = world.candidateTeams("web_development").find((t) => hasPair(t, [a, b]))!;
    const messages = new Map<string, number>();
    let failures = 0;
    for (let i = 0; i < DRAWS; i++) {
      const outcome = world.sampleExecution("web_development", team, 2, rng);
      if (outcome.success) {
        expect(outcome.errorMessage).toBe("");
        continue;
      }
      failures++;
      messages.set(outcome.errorMessage, (messages.get(outcome.errorMessage) ?? 0) + 1);
    }
    const conflict = `${DEPENDENCY_CONFLICT} between ${a} and ${b}`;
    expect(conflict).toBe("dependency conflict between PACKAGER and DEPLOYER");
    expect([...messages.keys()].sort()).toEqual([conflict, ...GENERIC_ERRORS].sort());
    expect(messages.get(conflict)! / failures).toBeGreaterThan(0.4);
    expect(Math.max(...GENERIC_ERRORS.map((m) => messages.get(m) ?? 0))).toBeLessThan(messages.get(conflict)!);
  });

  it("never reports the conflict for teams without both agents of the pair", () => {
    const rng = createRng(6);
    const pair = world.badPair("security_audit");
    for (const team of world.candidateTeams("security_audit").filter((t) => !hasPair(t, pair))) {
      for (let i = 0; i < 200; i++) {
        expect(world.sampleExecution("security_audit", team, 3, rng).errorMessage).not.toContain(DEPENDENCY_CONFLICT);
      }
    }
  });

  it("draws plausible resources and durations", () => {
    const rng = createRng(8);
    for (let i = 0; i < 1000; i++) {
      const team = world.randomTeam("documentation", rng);
      const outcome = world.sampleExecution("documentation", team, world.sampleComplexity(rng), rng);
      expect(outcome.durationSeconds).toBeGreaterThan(0);
      expect(outcome.cpuPercent).toBeGreaterThan(0);
      expect(outcome.memoryMb).toBeGreaterThan(0);
    }
  });

  it("draws complexities on [0.5, 5] with one decimal and the triangular mean 2.5", () => {
    const rng = createRng(9);
    let sum = 0;
    for (let i = 0; i < DRAWS; i++) {
      const c = world.sampleComplexity(rng);
      expect(c).toBeGreaterThanOrEqual(0.5);
      expect(c).toBeLessThanOrEqual(5);
      expect(Math.round(c * 10) / 10).toBe(c);
      sum += c;
    }
    // Triangular(0.5, 2, 5) has standard deviation ≈ 0.93; the mean of 5,000 is within ±0.04 at 3σ.
    expect(Math.abs(sum / DRAWS - 2.5)).toBeLessThan(0.05);
  });

  it("draws random teams from the candidates only, reaching every one", () => {
    const rng = createRng(10);
    const candidates = new Set(world.candidateTeams("bug_fix").map(key));
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const team = key(world.randomTeam("bug_fix", rng));
      expect(candidates.has(team)).toBe(true);
      seen.add(team);
    }
    expect(seen.size).toBe(candidates.size);
  });
});
