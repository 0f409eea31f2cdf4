// The order in which a recommended team's agents should run. Estimates treat teams as sets; the
// order is advice on top: the team's most successful recorded order when it has one, otherwise the
// catalog's stages: plan, build, secure, verify, ship.
import { teamKey } from "../domain/team.js";
import type { CatalogAgent, CombinationEvidence } from "./evidence.js";

// Stages of the catalog categories, earliest first. Planners and orchestrators set the work up;
// builders (core, api, database and the other specialists) do it; security reviews what was built;
// testers and linters verify; docs, deployment and monitoring come last. Unknown categories (agents
// outside the catalog) are treated as builders.
const STAGES: Record<string, number> = {
  strategic: 0,
  orchestration: 0,
  director: 0,
  research: 1,
  core: 2,
  api: 2,
  database: 2,
  internal: 2,
  data_ml: 2,
  ml_accel: 2,
  ui: 2,
  specialized: 2,
  infra: 2,
  security: 3,
  testbed: 4,
  linter: 4,
  docs: 5,
  deploy: 5,
  monitor: 5,
};

const BUILD_STAGE = 2;

/** The execution stage of a catalog category (0 first); builders for unknown categories. */
export function categoryStage(category: string | undefined): number {
  return category === undefined ? BUILD_STAGE : (STAGES[category] ?? BUILD_STAGE);
}

/** The suggested execution order of a team: its most successful recorded order, else catalog stages then name. */
export function suggestedOrder(
  team: readonly string[],
  combination: CombinationEvidence | undefined,
  catalog: ReadonlyMap<string, CatalogAgent>,
): string[] {
  const key = teamKey(team);
  const recorded = (combination?.orders ?? []).filter((o) => o.agents.length === team.length && teamKey(o.agents) === key);
  if (recorded.length > 0) {
    // Beta(1 + s, 1 + f) mean, so one lucky run of an order does not beat a well-tried one; ties keep
    // the store's order (most frequent first).
    const rate = (o: { executions: number; successes: number }) => (1 + o.successes) / (2 + o.executions);
    const best = recorded.reduce((a, b) => (rate(b) > rate(a) ? b : a));
    return [...best.agents];
  }
  const stage = (agent: string) => categoryStage(catalog.get(agent)?.category);
  return [...team].sort((a, b) => stage(a) - stage(b) || (a < b ? -1 : a > b ? 1 : 0));
}
