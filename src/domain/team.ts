// What identifies a team, in one place for every layer: store/ (the agent_set columns), learning/
// (evidence indexes, insight keys), ml/ (training rows per team) and the simulator.

/** Teams up to this size are sorted by insertion (see asTeam). */
const SMALL_TEAM = 16;

/**
 * A team as a sorted list of distinct agents (a team is a set: order and repeats aside). A small
 * team (every valid one) is sorted by insertion, skipping repeats: a Set and V8's sort allocate
 * about a kilobyte per call, and bulk ingest computes a key for every row.
 */
export function asTeam(agents: readonly string[]): string[] {
  if (agents.length > SMALL_TEAM) return [...new Set(agents)].sort();
  const team: string[] = [];
  for (const agent of agents) {
    let j = team.length;
    while (j > 0 && (team[j - 1] as string) > agent) j--;
    if (j > 0 && team[j - 1] === agent) continue;
    team.push(agent);
    for (let k = team.length - 1; k > j; k--) team[k] = team[k - 1] as string;
    team[j] = agent;
  }
  return team;
}

/**
 * The identity of a team: its distinct agents, sorted, joined with ",". Agent names never contain
 * "," (AGENT_NAME_FORMAT), so keys cannot collide; it is the form the agent_set columns hold (and
 * the aggregates split back with string_to_array(agent_set, ',')) and the insight keys carry, so a
 * key computed here equals one stored. "," sorts below every character a name may hold, so keys
 * sort as the teams do.
 */
export function teamKey(agents: readonly string[]): string {
  return asTeam(agents).join(",");
}

/** A team as descriptions and explanations name it: "ARCHITECT+DEBUGGER", in the order given. */
export function teamLabel(agents: readonly string[]): string {
  return agents.join("+");
}
