// The synthetic world behind `agent-learning simulate`: a fleet whose true behaviour is known, so
// what the service learns can be checked against the truth.
//
// Five task types: web_development, security_audit, data_pipeline, bug_fix and documentation.
// Each has (see task-types.ts for the exact teams):
// - a base success rate, 0.50–0.60, for a team of ordinary agents at the reference complexity 2.0;
// - agent skills: four or five agents relevant to the task type raise the log-odds of success by
//   0.3 each and work 10% faster; every other of the 40 catalog agents is near neutral (a fixed
//   effect drawn from the world seed, uniform in ±0.08 log-odds); agents outside the catalog are
//   exactly neutral;
// - ONE hidden best combination of 2–4 relevant agents with a synergy that puts its success at
//   0.93 at complexity 2.0 (ordinary teams: about 0.55–0.80) and makes it 20% faster; only the
//   exact team gets the synergy, not a superset or a subset;
// - ONE bad pair: a team holding both agents succeeds only 0.3× as often, and the extra failures
//   say "dependency conflict between A and B" (exact, stable text);
// - one slow agent that leaves success alone but makes its teams 1.8× slower.
// Teams of more than three agents pay 0.15 log-odds per extra agent (coordination).
// Complexity (0–10; drawn triangular on [0.5, 5] with mode 2.0) lowers the log-odds by 0.35 per
// unit above 2.0 (raises it below) and lengthens runs by 25% of the base per unit.
// Durations are log-normal: median = base (90–300 s by task type) × (1 + 0.25·complexity) ×
// (1 + 0.15 per agent beyond the first) × the agents' speed factors, with σ = 0.35 on the log
// scale; the expected duration is the log-normal mean, median·e^(σ²/2).
// Failures other than the conflict carry one of four generic messages (timeout, failing tests,
// out of memory, upstream 503), equally likely. CPU (≈35% of a core per agent) and peak memory
// (≈200 MiB + 150 MiB per agent) vary log-normally.
// The orchestrator being simulated "naturally" tries twelve plausible teams per task type, chosen
// uniformly: the best combination, two teams holding the bad pair, each bad agent without the
// other, a team with the slow agent, near misses of the best, and ordinary teams.
// Everything is a pure function of the world seed and of the seeded draws passed in: the same
// seeds give the same executions. The structure above does not depend on the seed, so runs with
// different seeds sample the same world.
import { teamKey } from "../domain/team.js";
import { CATALOG_AGENTS } from "./catalog.js";
import { createRng, type Rng } from "./random.js";
import { TASK_TYPES, type TaskTypeSpec } from "./task-types.js";

/** The complexity at which base rates and the best combination's success are stated. */
export const REFERENCE_COMPLEXITY = 2;
/** The success probability of each task type's best combination at the reference complexity. */
export const BEST_SUCCESS = 0.93;
/** How much a team holding the bad pair keeps of its success probability. */
export const CONFLICT_FACTOR = 0.3;
/** The stable beginning of every bad-pair error message. */
export const DEPENDENCY_CONFLICT = "dependency conflict";
/** The messages of failures that are not the bad pair's; fixed texts so they aggregate. */
export const GENERIC_ERRORS: readonly string[] = [
  "timeout: the task exceeded its time budget",
  "tests failed after the change",
  "agent crashed: out of memory",
  "tool call failed: upstream service returned 503",
];

const COMPLEXITY_SLOPE = 0.35;
const HELPFUL_EFFECT = 0.3;
const NEUTRAL_SPREAD = 0.08;
const FREE_TEAM_SIZE = 3;
const SIZE_PENALTY = 0.15;
const COMPLEXITY_DURATION = 0.25;
const SIZE_DURATION = 0.15;
const HELPFUL_SPEED = 0.9;
const SLOW_SPEED = 1.8;
const BEST_SPEED = 0.8;
const DURATION_SIGMA = 0.35;
const NEUTRAL_POOL = 4;

/** What one simulated execution produced. */
export interface Outcome {
  success: boolean;
  durationSeconds: number;
  /** Empty on success. */
  errorMessage: string;
  cpuPercent: number;
  memoryMb: number;
}

/** The synthetic world: its ground truth, and draws of executions from it. */
export interface World {
  /** The seed the near-neutral agent effects were drawn from. */
  readonly seed: number;
  /** The task types, in a fixed order. */
  readonly taskTypes: readonly string[];
  /** True probability that the team succeeds (agent order and case do not matter). */
  successProbability(taskType: string, agents: readonly string[], complexity: number): number;
  /** True mean duration in seconds. */
  expectedDuration(taskType: string, agents: readonly string[], complexity: number): number;
  /** The planted best team. */
  bestCombination(taskType: string): readonly string[];
  /** The planted pair that clashes. */
  badPair(taskType: string): readonly [string, string];
  /** The agent that slows its teams down. */
  slowAgent(taskType: string): string;
  /** The teams the simulated orchestrator tries on its own. */
  candidateTeams(taskType: string): readonly (readonly string[])[];
  /** One of the candidate teams, each equally likely (a fresh array the caller may keep). */
  randomTeam(taskType: string, rng: Rng): string[];
  /**
   * A team an exploring orchestrator might try once or twice: 2–4 agents drawn uniformly from the
   * task type's helpful agents, bad pair and slow agent and four fixed neutral agents (hundreds of
   * possible teams, so most are rarely seen). Always consumes five draws.
   */
  rareTeam(taskType: string, rng: Rng): string[];
  /** A task complexity as the simulated fleet meets them: triangular on [0.5, 5], mode 2.0, one decimal. */
  sampleComplexity(rng: Rng): number;
  /** Draws one execution's outcome; always consumes the same number of draws from rng. */
  sampleExecution(taskType: string, agents: readonly string[], complexity: number, rng: Rng): Outcome;
}

/** Builds the world; the seed fixes the small effects of the near-neutral agents and nothing else. */
export function createWorld(seed: number): World {
  const specs = new Map<string, Model>(TASK_TYPES.map((spec) => [spec.name, buildModel(spec, seed)]));
  const model = (taskType: string): Model => {
    const found = specs.get(taskType);
    if (!found) throw new RangeError(`unknown task type ${JSON.stringify(taskType)}; known: ${[...specs.keys()].join(", ")}`);
    return found;
  };
  return {
    seed,
    taskTypes: TASK_TYPES.map((spec) => spec.name),
    successProbability: (taskType, agents, complexity) => model(taskType).success(normalize(agents), complexity),
    expectedDuration: (taskType, agents, complexity) =>
      model(taskType).medianDuration(normalize(agents), complexity) * Math.exp((DURATION_SIGMA * DURATION_SIGMA) / 2),
    bestCombination: (taskType) => model(taskType).spec.best,
    badPair: (taskType) => model(taskType).spec.badPair,
    slowAgent: (taskType) => model(taskType).spec.slow,
    candidateTeams: (taskType) => model(taskType).spec.candidates,
    randomTeam: (taskType, rng) => [...rng.pick(model(taskType).spec.candidates)],
    rareTeam: (taskType, rng) => drawTeam(rarePool(model(taskType).spec), rng),
    sampleComplexity,
    sampleExecution: (taskType, agents, complexity, rng) => model(taskType).sample(normalize(agents), complexity, rng),
  };
}

/** A task type's spec compiled into the functions of the model. */
interface Model {
  spec: TaskTypeSpec;
  success(team: readonly string[], complexity: number): number;
  medianDuration(team: readonly string[], complexity: number): number;
  sample(team: readonly string[], complexity: number, rng: Rng): Outcome;
}

function buildModel(spec: TaskTypeSpec, seed: number): Model {
  const skill = agentSkills(spec, seed);
  const helpful = new Set(spec.helpful);
  const bestKey = teamKey(spec.best);
  const [first, second] = spec.badPair;
  const conflictMessage = `${DEPENDENCY_CONFLICT} between ${first} and ${second}`;

  // Log-odds without the synergy and the conflict, which are applied on top.
  const plainLogit = (team: readonly string[], complexity: number): number =>
    logit(spec.baseSuccess) +
    team.reduce((sum, agent) => sum + (skill.get(agent) ?? 0), 0) -
    SIZE_PENALTY * Math.max(0, team.length - FREE_TEAM_SIZE) -
    COMPLEXITY_SLOPE * (complexity - REFERENCE_COMPLEXITY);
  // Stated as a target rather than a bonus, so the best team's success does not depend on how
  // many agents it has or which ones.
  const synergy = logit(BEST_SUCCESS) - plainLogit(spec.best, REFERENCE_COMPLEXITY);
  const isBest = (team: readonly string[]) => teamKey(team) === bestKey;
  const hasConflict = (team: readonly string[]) => team.includes(first) && team.includes(second);
  const successWithoutConflict = (team: readonly string[], complexity: number) =>
    sigmoid(plainLogit(team, complexity) + (isBest(team) ? synergy : 0));

  const medianDuration = (team: readonly string[], complexity: number): number => {
    const speed = team.reduce((product, agent) => product * (agent === spec.slow ? SLOW_SPEED : helpful.has(agent) ? HELPFUL_SPEED : 1), 1);
    return (
      spec.baseDurationSeconds *
      (1 + COMPLEXITY_DURATION * complexity) *
      (1 + SIZE_DURATION * Math.max(0, team.length - 1)) *
      speed *
      (isBest(team) ? BEST_SPEED : 1)
    );
  };

  return {
    spec,
    success: (team, complexity) => successWithoutConflict(team, complexity) * (hasConflict(team) ? CONFLICT_FACTOR : 1),
    medianDuration,
    sample(team, complexity, rng) {
      const p0 = successWithoutConflict(team, complexity);
      const p = p0 * (hasConflict(team) ? CONFLICT_FACTOR : 1);
      // One uniform decides the outcome: below p it succeeds; between p and p0 it would have
      // succeeded but for the conflict, so the conflict is what it reports.
      const u = rng.next();
      const errorDraw = rng.int(GENERIC_ERRORS.length);
      const durationSeconds = medianDuration(team, complexity) * Math.exp(DURATION_SIGMA * rng.normal());
      const cpuPercent = 35 * team.length * Math.exp(0.3 * rng.normal());
      const memoryMb = (200 + 150 * team.length) * Math.exp(0.25 * rng.normal());
      return {
        success: u < p,
        durationSeconds: round(durationSeconds, 1),
        errorMessage: u < p ? "" : u < p0 ? conflictMessage : (GENERIC_ERRORS[errorDraw] ?? ""),
        cpuPercent: round(cpuPercent, 1),
        memoryMb: round(memoryMb, 1),
      };
    },
  };
}

/**
 * The log-odds effect of every catalog agent on one task type. Every catalog agent consumes one
 * draw, in a fixed order, so the near-neutral effects of one task type do not shift when another
 * task type's helpful agents change.
 */
function agentSkills(spec: TaskTypeSpec, seed: number): Map<string, number> {
  const helpful = new Set(spec.helpful);
  const draw = seededUniforms(seed, spec.name);
  const skills = new Map<string, number>();
  for (const agent of CATALOG_AGENTS) {
    const neutral = (2 * draw() - 1) * NEUTRAL_SPREAD;
    skills.set(agent, helpful.has(agent) ? HELPFUL_EFFECT : agent === spec.slow ? 0 : neutral);
  }
  return skills;
}

/**
 * Uniform draws for one task type: its own generator, seeded with the world seed mixed with the
 * task type's name (FNV-1a), so task types do not share a stream and the caller's draws stay apart.
 */
function seededUniforms(seed: number, name: string): () => number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (const char of name) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  return createRng(hash).next;
}

/** NEUTRAL_POOL agents that play no part in the task type, plus every agent that does. */
function rarePool(spec: TaskTypeSpec): string[] {
  const named = new Set([...spec.helpful, ...spec.badPair, spec.slow]);
  return [...named, ...CATALOG_AGENTS.filter((agent) => !named.has(agent)).slice(0, NEUTRAL_POOL)];
}

/** A uniformly drawn team of 2–4 distinct agents of `pool` (a partial shuffle: five draws). */
function drawTeam(pool: readonly string[], rng: Rng): string[] {
  const size = 2 + rng.int(3);
  const items = [...pool];
  for (let i = 0; i < 4; i++) {
    const j = i + rng.int(items.length - i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items.slice(0, size);
}

function sampleComplexity(rng: Rng): number {
  const [low, mode, high] = [0.5, REFERENCE_COMPLEXITY, 5];
  const u = rng.next();
  const cut = (mode - low) / (high - low);
  const value = u < cut ? low + Math.sqrt(u * (high - low) * (mode - low)) : high - Math.sqrt((1 - u) * (high - low) * (high - mode));
  return round(value, 1);
}

/** Upper case, trimmed, each agent once: the team as the service would store it. */
function normalize(agents: readonly string[]): string[] {
  return [...new Set(agents.map((agent) => agent.trim().toUpperCase()))];
}

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
