// The teams worth estimating for a request: what history has tried, what its best agents could try
// together, and on cold start what the catalog suggests. Every team returned honours the request's
// constraints (required agents included, excluded agents absent, at most maxAgents); ranking is
// left to the estimates.
import { asTeam, teamKey } from "../domain/team.js";
import { catalogPool } from "./catalog-match.js";
import type { TaskEvidence } from "./evidence.js";
import { shrunkRate, taskRate } from "./team-prior.js";

/** What every candidate team must satisfy (PredictAgentsRequest's constraints). */
export interface TeamConstraints {
  requiredAgents: string[];
  excludedAgents: string[];
  /** Largest team size; 0 = no limit. */
  maxAgents: number;
}

/** Most teams estimated per request: bounds the work on the hot path. */
export const MAX_CANDIDATES = 256;

// Exploration: teams of 1 to 3 agents among the 8 best agents of the task type (8 + 28 + 56 = 92
// teams), so a promising team nobody has tried yet gets an estimate and can be explored.
const EXPLORE_POOL = 8;
const EXPLORE_MAX_EXTRA = 3;

// Cold start: teams of 2 or 3 agents drawn from the 5 catalog agents best matching the task type,
// the pool filled with generalists to at least 3 so a pair and a triple always exist.
const CATALOG_POOL = 5;
const CATALOG_POOL_MINIMUM = 3;
const CATALOG_TEAM_SIZES = [2, 3];

/** All k-element subsets of `items`, in lexicographic order of positions. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  const out: T[][] = [];
  for (let i = 0; i <= items.length - k; i++) {
    for (const rest of subsets(items.slice(i + 1), k - 1)) out.push([items[i]!, ...rest]);
  }
  return out;
}

/** Candidate teams (sorted agent lists, distinct as sets) for a task type under the constraints, most promising kinds first. */
export function candidateTeams(evidence: TaskEvidence, constraints: TeamConstraints): string[][] {
  const required = asTeam(constraints.requiredAgents);
  const excluded = new Set(constraints.excludedAgents);
  const cap = constraints.maxAgents > 0 ? constraints.maxAgents : Number.POSITIVE_INFINITY;
  if (required.some((a) => excluded.has(a)) || required.length > cap) return [];
  const fits = (team: string[]) => team.length > 0 && team.length <= cap && !team.some((a) => excluded.has(a));
  const free = (agent: string) => !excluded.has(agent) && !required.includes(agent);
  const withRequired = (team: readonly string[]) => asTeam([...required, ...team]);

  const explore = exploreTeams(evidence, free).map(withRequired).filter(fits);
  const history = historicalTeams(evidence, excluded).map(withRequired).filter(fits);
  let teams = distinct([...history.slice(0, Math.max(0, MAX_CANDIDATES - explore.length)), ...explore]);
  if (evidence.task.executions === 0 || teams.length === 0) {
    teams = distinct([...teams, ...catalogTeams(evidence, required, free, cap).filter(fits)]);
  }
  return teams.slice(0, MAX_CANDIDATES);
}

function distinct(teams: string[][]): string[][] {
  const seen = new Set<string>();
  return teams.filter((team) => {
    const key = teamKey(team);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Recorded teams without excluded agents, best record first by Beta(1 + s, 1 + f) mean, so that
// when the bound cuts, it cuts the worst. A team lacking required agents is offered with them added.
function historicalTeams(evidence: TaskEvidence, excluded: ReadonlySet<string>): string[][] {
  const rate = (c: { executions: number; successes: number }) => (1 + c.successes) / (2 + c.executions);
  return evidence.combinations
    .filter((c) => c.executions > 0 && !c.agents.some((a) => excluded.has(a)))
    .sort((a, b) => rate(b) - rate(a) || b.executions - a.executions)
    .map((c) => asTeam(c.agents));
}

// The free agents' subsets of up to three among the best by shrunk rate in this task type; the
// empty subset stands for "the required agents alone". Nothing without agents to choose from, so
// on cold start the catalog's teams lead.
function exploreTeams(evidence: TaskEvidence, free: (agent: string) => boolean): string[][] {
  const target = taskRate(evidence.task);
  const best = evidence.agents
    .filter((a) => a.executions > 0 && free(a.agent))
    .map((a) => ({ agent: a.agent, rate: shrunkRate(a, target) }))
    .sort((a, b) => b.rate - a.rate || (a.agent < b.agent ? -1 : 1))
    .slice(0, EXPLORE_POOL)
    .map((a) => a.agent);
  if (best.length === 0) return [];
  const teams: string[][] = [];
  for (let k = 0; k <= EXPLORE_MAX_EXTRA; k++) teams.push(...subsets(best, k));
  return teams;
}

// Cold start: the required agents plus the best matching catalog agents, in teams of 2–3 (or fewer
// when maxAgents says so; the required agents alone when they already make a team that big). Best
// total match first, smaller first on ties: with nothing to go on, the team costs least.
function catalogTeams(evidence: TaskEvidence, required: string[], free: (agent: string) => boolean, cap: number): string[][] {
  const pool = catalogPool(evidence.catalog, evidence.taskType, free, CATALOG_POOL, CATALOG_POOL_MINIMUM);
  const score = new Map(pool.map((p) => [p.name, p.score]));
  const sizes = CATALOG_TEAM_SIZES.filter((s) => s <= cap);
  const extras = [...new Set((sizes.length > 0 ? sizes : [cap]).map((s) => Math.max(0, s - required.length)))];
  const teams = extras.flatMap((k) =>
    subsets(
      pool.map((p) => p.name),
      k,
    ).map((s) => asTeam([...required, ...s])),
  );
  const total = (team: string[]) => team.reduce((sum, a) => sum + (score.get(a) ?? 0), 0);
  return teams.filter((t) => t.length > 0).sort((a, b) => total(b) - total(a) || a.length - b.length);
}
