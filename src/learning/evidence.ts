// The evidence learning works from: running aggregates read from the store, one task type at a
// time. Plain data, so the learning code stays pure and testable without a database.

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

/** Mean and variance of ln(1 + duration) from sums; variance 0 below two executions. */
export function logDurationMoments(s: OutcomeSums): { mean: number; variance: number } {
  if (s.executions === 0) return { mean: 0, variance: 0 };
  const mean = s.logDurationSum / s.executions;
  const variance = s.executions > 1 ? Math.max(0, (s.logDurationSqSum - s.executions * mean * mean) / (s.executions - 1)) : 0;
  return { mean, variance };
}

/** The sums of two sets of executions together. */
export function addSums(a: OutcomeSums, b: OutcomeSums): OutcomeSums {
  return {
    executions: a.executions + b.executions,
    successes: a.successes + b.successes,
    durationSum: a.durationSum + b.durationSum,
    logDurationSum: a.logDurationSum + b.logDurationSum,
    logDurationSqSum: a.logDurationSqSum + b.logDurationSqSum,
    complexitySum: a.complexitySum + b.complexitySum,
  };
}
