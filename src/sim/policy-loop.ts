// A recommendation loop in the synthetic world, through the service's own pure policy code and
// no server: the orchestrator asks the statistical recommender (with exploration) for a team,
// runs the first one in the world, and credits the outcome; the evidence is refreshed every few
// decisions as the service's cache refreshes it. Every decision is logged as the service logs it
// (first team, its propensity, the policy's probabilities, the greedy team, the candidates), so
// off-policy estimates from the log can be held against the world's true probabilities.
import { teamKey } from "../domain/team.js";
import { candidatesFor, RecommendMemo, type RecommendRequest } from "../learning/ranking.js";
import { recommend } from "../learning/recommend.js";
import type { LoggedDecision } from "../learning/target-policies.js";
import type { TaskEvidence } from "../learning/evidence.js";
import { createEvidenceLedger } from "./evidence-ledger.js";
import { createRng } from "./random.js";
import { createWorld, type World } from "./world.js";

/** What to run. */
export interface PolicyLoopOptions {
  seed: number;
  /** Executions of the orchestrator's own habitual teams recorded before the service is asked. */
  history: number;
  /** Decisions made by the service and credited. */
  decisions: number;
  /** The share ε of decisions whose first slot explores. */
  explorationRate: number;
  /** Decisions between two refreshes of the evidence the policy sees. */
  refreshEvery: number;
  /** One of the world's task types, or all of them drawn uniformly. */
  taskTypes?: readonly string[];
  world?: World;
}

/** The loop's log and what it ended with. */
export interface PolicyLoopResult {
  world: World;
  decisions: LoggedDecision[];
  /** The evidence at the end of the loop, per task type. */
  finalEvidence(taskType: string): TaskEvidence;
}

/** The request every decision makes: success only, no constraints, the stated exploration. */
export function loopRequest(explorationRate: number): RecommendRequest {
  return {
    complexity: 2,
    maxRecommendations: Number.MAX_SAFE_INTEGER,
    requiredAgents: [],
    excludedAgents: [],
    maxAgents: 0,
    successWeight: 1,
    explorationRate,
  };
}

/** Runs the loop: history first, then `decisions` recommend → run → credit steps, all from one seed. */
export function runPolicyLoop(options: PolicyLoopOptions): PolicyLoopResult {
  const world = options.world ?? createWorld(1);
  const taskTypes = options.taskTypes ?? world.taskTypes;
  const rng = createRng(options.seed);
  const ledger = createEvidenceLedger();
  for (let n = 0; n < options.history; n++) {
    const taskType = rng.pick(taskTypes);
    const complexity = world.sampleComplexity(rng);
    const agents = world.randomTeam(taskType, rng);
    const outcome = world.sampleExecution(taskType, agents, complexity, rng);
    ledger.record(taskType, agents, complexity, outcome.success, outcome.durationSeconds);
  }

  const seen = new Map<string, TaskEvidence>();
  // As the service does: rankings and propensities once per evidence snapshot and request shape.
  const memo = new RecommendMemo();
  const decisions: LoggedDecision[] = [];
  for (let n = 0; n < options.decisions; n++) {
    if (n % options.refreshEvery === 0) seen.clear();
    const taskType = rng.pick(taskTypes);
    const complexity = world.sampleComplexity(rng);
    let evidence = seen.get(taskType);
    if (!evidence) {
      evidence = ledger.evidence(taskType);
      seen.set(taskType, evidence);
    }
    const request = { ...loopRequest(options.explorationRate), complexity };
    const answer = recommend(evidence, request, rng.next, undefined, memo);
    const first = answer.recommendations[0];
    const pick = answer.firstPick;
    if (!first || !pick) throw new Error(`no recommendation for ${taskType}`);
    const outcome = world.sampleExecution(taskType, first.agents, complexity, rng);
    ledger.record(taskType, first.agents, complexity, outcome.success, outcome.durationSeconds);
    decisions.push({
      taskType,
      complexity,
      team: teamKey(first.agents),
      propensity: first.propensity,
      success: outcome.success,
      durationSeconds: outcome.durationSeconds,
      loggingProbabilities: new Map(pick.top.map((t) => [teamKey(t.agents), t.probability])),
      floorPropensity: pick.floor,
      candidateCount: pick.candidateCount,
      candidates: candidatesFor(evidence, request, memo).map(teamKey),
      greedyTeam: teamKey(pick.greedy),
    });
  }
  return { world, decisions, finalEvidence: (taskType) => ledger.evidence(taskType) };
}
