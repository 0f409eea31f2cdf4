// The fixed facts of the synthetic world, one entry per task type: what a plain team achieves,
// which agents help, which team is secretly best, which pair clashes, and which teams an
// orchestrator tries. world.ts turns these facts into probabilities and outcomes; the model and
// its constants are documented there.
//
// Design choices that keep the planted patterns findable by pattern analysis:
// - every best combination is made of helpful agents, and some candidates are near misses (a
//   subset, or the best team plus one agent), so "best" is a property of the exact team;
// - each bad pair appears in two candidate teams AND each of its agents appears without the other,
//   so the failures can be pinned on the pair (an interaction) rather than on one agent;
// - one slow agent per task type gives duration analysis a bottleneck to find.

/** The facts of one task type. Agent names are upper case catalog names. */
export interface TaskTypeSpec {
  /** The task type, as recorded in Execution.task_type. */
  readonly name: string;
  /** Success probability of a team of neutral agents at the reference complexity. */
  readonly baseSuccess: number;
  /** Median duration, seconds, of one neutral agent on a trivial (complexity 0) task. */
  readonly baseDurationSeconds: number;
  /** Agents that clearly raise success (and work a little faster) on this task type. */
  readonly helpful: readonly string[];
  /** An agent with no effect on success that makes every team it joins much slower. */
  readonly slow: string;
  /** The one team whose success is highest by design; a subset of `helpful`. */
  readonly best: readonly string[];
  /** Two agents that fail far more often when both are on the team. */
  readonly badPair: readonly [string, string];
  /** The teams an orchestrator "naturally" tries, in a fixed order; includes all of the above. */
  readonly candidates: readonly (readonly string[])[];
}

/** The world's task types, in the order simulations and reports list them. */
export const TASK_TYPES: readonly TaskTypeSpec[] = [
  {
    name: "web_development",
    baseSuccess: 0.55,
    baseDurationSeconds: 240,
    helpful: ["WEB", "APIDESIGNER", "TESTBED", "CONSTRUCTOR", "PYGUI"],
    slow: "RESEARCHER",
    best: ["WEB", "APIDESIGNER", "TESTBED"],
    badPair: ["PACKAGER", "DEPLOYER"],
    candidates: [
      ["WEB", "APIDESIGNER", "TESTBED"],
      ["WEB", "APIDESIGNER"],
      ["WEB", "TESTBED", "LINTER"],
      ["CONSTRUCTOR", "WEB", "DEPLOYER"],
      ["CONSTRUCTOR", "PACKAGER", "LINTER"],
      ["WEB", "PACKAGER", "DEPLOYER"],
      ["CONSTRUCTOR", "TESTBED", "PACKAGER", "DEPLOYER"],
      ["ARCHITECT", "WEB", "PYGUI"],
      ["WEB", "RESEARCHER", "TESTBED"],
      ["LEADENGINEER", "CONSTRUCTOR", "WEB", "TESTBED"],
      ["PLANNER", "CONSTRUCTOR"],
      ["WEB", "APIDESIGNER", "TESTBED", "DEPLOYER"],
    ],
  },
  {
    name: "security_audit",
    baseSuccess: 0.5,
    baseDurationSeconds: 300,
    helpful: ["SECURITYAUDITOR", "CRYPTOEXPERT", "BASTION", "CSO", "REDTEAMORCHESTRATOR"],
    slow: "QUANTUMGUARD",
    best: ["SECURITYAUDITOR", "CRYPTOEXPERT", "BASTION"],
    badPair: ["SECURITYCHAOSAGENT", "MONITOR"],
    candidates: [
      ["SECURITYAUDITOR", "CRYPTOEXPERT", "BASTION"],
      ["SECURITYAUDITOR", "CSO"],
      ["SECURITY", "SECURITYAUDITOR", "LINTER"],
      ["CSO", "REDTEAMORCHESTRATOR", "SECURITYCHAOSAGENT"],
      ["SECURITY", "MONITOR", "OVERSIGHT"],
      ["SECURITYAUDITOR", "SECURITYCHAOSAGENT", "MONITOR"],
      ["BASTION", "CSO", "SECURITYCHAOSAGENT", "MONITOR"],
      ["QUANTUMGUARD", "CRYPTOEXPERT", "SECURITY"],
      ["OVERSIGHT", "SECURITY"],
      ["CSO", "BASTION", "REDTEAMORCHESTRATOR", "OVERSIGHT"],
      ["SECURITYAUDITOR", "CRYPTOEXPERT"],
      ["ARCHITECT", "SECURITY", "SECURITYAUDITOR"],
    ],
  },
  {
    name: "data_pipeline",
    baseSuccess: 0.52,
    baseDurationSeconds: 270,
    helpful: ["DATABASE", "MLOPS", "INFRASTRUCTURE", "MONITOR", "DATASCIENCE"],
    slow: "PYTHON-INTERNAL",
    best: ["DATABASE", "MLOPS", "INFRASTRUCTURE", "MONITOR"],
    badPair: ["GNA", "NPU"],
    candidates: [
      ["DATABASE", "MLOPS", "INFRASTRUCTURE", "MONITOR"],
      ["DATABASE", "MLOPS", "INFRASTRUCTURE"],
      ["DATABASE", "DATASCIENCE"],
      ["DATASCIENCE", "GNA", "DATABASE"],
      ["NPU", "MLOPS", "CONSTRUCTOR"],
      ["DATASCIENCE", "GNA", "NPU"],
      ["DATABASE", "MLOPS", "GNA", "NPU"],
      ["PYTHON-INTERNAL", "DATABASE", "MLOPS"],
      ["DATABASE", "CONSTRUCTOR", "TESTBED"],
      ["ARCHITECT", "DATABASE", "INFRASTRUCTURE", "DEPLOYER"],
      ["DATASCIENCE", "MLOPS", "MONITOR"],
      ["DATABASE", "MLOPS", "INFRASTRUCTURE", "MONITOR", "DATASCIENCE"],
    ],
  },
  {
    name: "bug_fix",
    baseSuccess: 0.58,
    baseDurationSeconds: 120,
    helpful: ["DEBUGGER", "PATCHER", "TESTBED", "LINTER", "CONSTRUCTOR"],
    slow: "ARCHITECT",
    best: ["DEBUGGER", "PATCHER"],
    badPair: ["OPTIMIZER", "C-INTERNAL"],
    candidates: [
      ["DEBUGGER", "PATCHER"],
      ["DEBUGGER", "TESTBED"],
      ["DEBUGGER", "PATCHER", "TESTBED"],
      ["PATCHER", "OPTIMIZER"],
      ["C-INTERNAL", "DEBUGGER", "LINTER"],
      ["OPTIMIZER", "C-INTERNAL", "PATCHER"],
      ["DEBUGGER", "OPTIMIZER", "C-INTERNAL", "TESTBED"],
      ["ARCHITECT", "DEBUGGER", "CONSTRUCTOR"],
      ["CONSTRUCTOR", "LINTER"],
      ["PATCHER", "PYTHON-INTERNAL"],
      ["LEADENGINEER", "DEBUGGER", "PATCHER", "LINTER"],
      ["QADIRECTOR", "TESTBED", "PATCHER"],
    ],
  },
  {
    name: "documentation",
    baseSuccess: 0.6,
    baseDurationSeconds: 90,
    helpful: ["DOCGEN", "APIDESIGNER", "LINTER", "RESEARCHER"],
    slow: "DIRECTOR",
    best: ["DOCGEN", "APIDESIGNER", "LINTER"],
    badPair: ["TUI", "PYGUI"],
    candidates: [
      ["DOCGEN", "APIDESIGNER", "LINTER"],
      ["DOCGEN", "RESEARCHER"],
      ["DOCGEN", "LINTER"],
      ["DOCGEN", "TUI", "LINTER"],
      ["PYGUI", "DOCGEN"],
      ["DOCGEN", "TUI", "PYGUI"],
      ["APIDESIGNER", "RESEARCHER", "TUI", "PYGUI"],
      ["DIRECTOR", "DOCGEN", "APIDESIGNER"],
      ["ARCHITECT", "DOCGEN"],
      ["DOCGEN", "APIDESIGNER", "LINTER", "RESEARCHER"],
      ["PLANNER", "RESEARCHER", "DOCGEN"],
      ["CONSTRUCTOR", "DOCGEN"],
    ],
  },
];
