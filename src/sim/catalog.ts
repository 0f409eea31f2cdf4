// The names of the default agent catalog (src/store/migrations/002_default_agents.sql), which the
// synthetic world gives a skill for every task type. The migration is the source of truth; a unit
// test fails if this list drifts from it. Restated here because the world is pure: it reads no
// files at run time.

/** The 40 catalog agents, upper case, in the migration's order. */
export const CATALOG_AGENTS: readonly string[] = [
  "ANDROIDMOBILE", "APIDESIGNER", "ARCHITECT", "BASTION", "C-INTERNAL", "CONSTRUCTOR", "CRYPTOEXPERT", "CSO",
  "DATABASE", "DATASCIENCE", "DEBUGGER", "DEPLOYER", "DIRECTOR", "DOCGEN", "GNA", "INFRASTRUCTURE",
  "INTEGRATION", "LEADENGINEER", "LINTER", "MLOPS", "MONITOR", "NPU", "OPTIMIZER", "OVERSIGHT",
  "PACKAGER", "PATCHER", "PLANNER", "PROJECTORCHESTRATOR", "PYGUI", "PYTHON-INTERNAL", "QADIRECTOR", "QUANTUMGUARD",
  "REDTEAMORCHESTRATOR", "RESEARCHER", "SECURITY", "SECURITYAUDITOR", "SECURITYCHAOSAGENT", "TESTBED", "TUI", "WEB",
];
