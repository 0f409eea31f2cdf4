// What identifies a team, in one place for every layer: store/ (the agent_set columns), learning/
// (evidence indexes, insight keys), ml/ (training rows per team) and the simulator.

/** A team as a sorted list of distinct agents (a team is a set: order and repeats aside). */
export function asTeam(agents: readonly string[]): string[] {
  return [...new Set(agents)].sort();
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
