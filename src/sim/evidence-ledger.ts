// The evidence of a simulated history kept in memory, summed exactly as the store's running
// aggregates sum it, so pure simulations (the off-policy coverage loop) can rank teams with the
// service's own learning code without a database.
import { NO_EXECUTIONS } from "../domain/evidence.js";
import { asTeam, teamKey } from "../domain/team.js";
import { addSums, type CatalogAgent, type OutcomeSums, type TaskEvidence } from "../learning/evidence.js";
import { CATALOG_AGENTS } from "./catalog.js";

/** The catalog as the world knows it: names only (categories and capabilities matter only on cold start). */
const CATALOG: CatalogAgent[] = CATALOG_AGENTS.map((name) => ({ name, category: "", capabilities: [] }));

/** Running sums per task type, combination and agent; `evidence()` hands out an immutable snapshot. */
export interface EvidenceLedger {
  record(taskType: string, agents: readonly string[], complexity: number, success: boolean, durationSeconds: number): void;
  /** A snapshot of one task type (a new object after every record, as the service's cache refresh gives). */
  evidence(taskType: string): TaskEvidence;
}

/** An empty ledger. */
export function createEvidenceLedger(): EvidenceLedger {
  const tasks = new Map<string, { task: OutcomeSums; teams: Map<string, OutcomeSums>; agents: Map<string, OutcomeSums> }>();
  const snapshots = new Map<string, TaskEvidence>();
  const entry = (taskType: string) => {
    let e = tasks.get(taskType);
    if (!e) {
      e = { task: NO_EXECUTIONS, teams: new Map(), agents: new Map() };
      tasks.set(taskType, e);
    }
    return e;
  };
  return {
    record(taskType, agents, complexity, success, durationSeconds) {
      const log = Math.log1p(durationSeconds);
      const one: OutcomeSums = {
        executions: 1,
        successes: success ? 1 : 0,
        durationSum: durationSeconds,
        logDurationSum: log,
        logDurationSqSum: log * log,
        complexitySum: complexity,
      };
      const e = entry(taskType);
      const team = asTeam(agents);
      const key = teamKey(team);
      e.task = addSums(e.task, one);
      e.teams.set(key, addSums(e.teams.get(key) ?? NO_EXECUTIONS, one));
      for (const agent of team) e.agents.set(agent, addSums(e.agents.get(agent) ?? NO_EXECUTIONS, one));
      snapshots.delete(taskType);
    },
    evidence(taskType) {
      const cached = snapshots.get(taskType);
      if (cached) return cached;
      const e = entry(taskType);
      const snapshot: TaskEvidence = {
        taskType,
        task: e.task,
        combinations: [...e.teams].map(([key, sums]) => ({ ...sums, agents: key.split(",") })),
        agents: [...e.agents].map(([agent, sums]) => ({ ...sums, agent })),
        catalog: CATALOG,
        asOfMs: 0,
      };
      snapshots.set(taskType, snapshot);
      return snapshot;
    },
  };
}
