// The evidence learning works from: running aggregates the store reads, one task type at a time.
// Plain data shared by store/ (which fills it) and learning/ (which reasons over it), so neither
// imports the other and learning stays pure and testable without a database.

/** Sums over a set of executions, as the aggregate tables keep them. */
export interface OutcomeSums {
  executions: number;
  successes: number;
  /** Σ duration_seconds. */
  durationSum: number;
  /** Σ ln(1 + duration_seconds). */
  logDurationSum: number;
  /** Σ ln(1 + duration_seconds)². */
  logDurationSqSum: number;
  /** Σ complexity. */
  complexitySum: number;
}

/** The sums of no executions: a task type, team or agent never recorded. Frozen: shared by all. */
export const NO_EXECUTIONS: Readonly<OutcomeSums> = Object.freeze({
  executions: 0,
  successes: 0,
  durationSum: 0,
  logDurationSum: 0,
  logDurationSqSum: 0,
  complexitySum: 0,
});

/** Aggregates of one combination (set of agents) in one task type. */
export interface CombinationEvidence extends OutcomeSums {
  /** The agents, sorted. */
  agents: string[];
  /** The most frequent error messages of its failures, most frequent first. */
  topErrors?: { message: string; occurrences: number }[];
  /** The execution orders seen for this team, most frequent first. */
  orders?: { agents: string[]; executions: number; successes: number }[];
}

/** Aggregates of one agent in one task type. */
export interface AgentEvidence extends OutcomeSums {
  agent: string;
}

/** A catalog entry. */
export interface CatalogAgent {
  name: string;
  category: string;
  capabilities: string[];
}

/** Everything known about one task type, as of `asOfMs`. */
export interface TaskEvidence {
  taskType: string;
  task: OutcomeSums;
  /** Combinations seen for this task type (the most frequent ones, bounded). */
  combinations: CombinationEvidence[];
  /** Agents seen for this task type. */
  agents: AgentEvidence[];
  /** The whole agent catalog, for cold start and for candidates never tried here. */
  catalog: CatalogAgent[];
  asOfMs: number;
}
