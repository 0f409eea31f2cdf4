// Cold start: with no history for a task type, the only clue to which agents fit it is its name.
// Its words ("security_audit" → security, audit) are matched against each catalog agent's category,
// capabilities and name; the best matching agents form the pool that first teams are drawn from.
import type { CatalogAgent } from "./evidence.js";
import { categoryStage } from "./execution-order.js";

/** The lower-case words of a task type, category or capability, split on _ - . and spaces. */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[\s_.-]+/)
    .filter((w) => w.length > 0);
}

// Two words match when equal, or when they share a stem: a common prefix of at least 3 letters and
// of all but one letter of the shorter word ("docs" ~ "documentation", "pipeline" ~ "pipelines",
// "audit" ~ "auditor", "data" ~ "database"). Crude, but category and capability names are short
// and regular.
function sameStem(a: string, b: string): boolean {
  if (a === b) return true;
  const shorter = Math.min(a.length, b.length);
  if (shorter < 3) return false;
  let common = 0;
  while (common < shorter && a[common] === b[common]) common++;
  return common >= Math.max(3, shorter - 1);
}

/** How well an agent fits a task type's words: per word, 2 if its category matches, 1 if a capability does, 1 if its name contains it. */
function catalogMatch(agent: CatalogAgent, taskWords: readonly string[]): number {
  const category = words(agent.category);
  const capabilities = agent.capabilities.flatMap(words);
  const name = agent.name.toLowerCase();
  let score = 0;
  for (const word of taskWords) {
    if (category.some((c) => sameStem(c, word))) score += 2;
    if (capabilities.some((c) => sameStem(c, word))) score += 1;
    if (word.length >= 3 && name.includes(word)) score += 1;
  }
  return score;
}

// When too few agents match, the pool is filled with one generalist of each of these categories,
// in this order: a builder, a coordinator, a tester, a planner.
const GENERALIST_CATEGORIES = ["core", "orchestration", "testbed", "strategic"];

/** An agent of the cold-start pool and how well it matched. */
export interface PoolAgent {
  name: string;
  score: number;
}

/** The cold-start pool for a task type: best matching catalog agents first, filled with generalists up to `minimum`. */
export function catalogPool(
  catalog: readonly CatalogAgent[],
  taskType: string,
  eligible: (agent: string) => boolean,
  size: number,
  minimum: number,
): PoolAgent[] {
  const taskWords = words(taskType);
  const pool = catalog
    .filter((a) => eligible(a.name))
    .map((agent) => ({ agent, score: catalogMatch(agent, taskWords) }))
    .filter((m) => m.score > 0)
    .sort(
      (a, b) =>
        b.score - a.score || categoryStage(a.agent.category) - categoryStage(b.agent.category) || (a.agent.name < b.agent.name ? -1 : 1),
    )
    .slice(0, size)
    .map((m) => ({ name: m.agent.name, score: m.score }));
  for (const category of GENERALIST_CATEGORIES) {
    if (pool.length >= minimum) break;
    const generalist = catalog
      .filter((a) => a.category === category && eligible(a.name) && !pool.some((p) => p.name === a.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1))[0];
    if (generalist) pool.push({ name: generalist.name, score: 0 });
  }
  return pool;
}
