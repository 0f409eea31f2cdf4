import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Execution, ExecutionSchema, ResourceUsageSchema } from "../gen/agentlearning/v1/execution_pb.js";
import { CATALOG_AGENTS } from "../src/sim/catalog.js";

/** One kind of task: which agents it tends to use, how long it takes, how often it fails and why. */
interface TaskProfile {
  taskType: string;
  /** Relative frequency of this task type. */
  weight: number;
  /** Agents a team for this task is mostly drawn from (the rest of the catalog fills in rarely). */
  core: readonly string[];
  /** Median duration in seconds at complexity 1. */
  medianSeconds: number;
  /** Success probability of an average team at complexity 1. */
  baseSuccess: number;
  errors: readonly string[];
  descriptions: readonly string[];
}

const PROFILES: readonly TaskProfile[] = [
  {
    taskType: "web_development",
    weight: 5,
    core: ["ARCHITECT", "CONSTRUCTOR", "WEB", "APIDESIGNER", "TESTBED", "LINTER", "DEBUGGER"],
    medianSeconds: 420,
    baseSuccess: 0.86,
    errors: ["build failed: module not found", "e2e test timed out after 30000 ms", "lint: 14 errors, 3 warnings"],
    descriptions: ["Add a settings page with form validation", "Implement OAuth login flow", "Fix layout regression on mobile"],
  },
  {
    taskType: "api_integration",
    weight: 3,
    core: ["APIDESIGNER", "INTEGRATION", "CONSTRUCTOR", "TESTBED", "SECURITY", "DEBUGGER"],
    medianSeconds: 300,
    baseSuccess: 0.82,
    errors: ["HTTP 429 from upstream after 5 retries", "schema mismatch: field 'amount' is string", "TLS handshake failed"],
    descriptions: ["Integrate the payments provider webhook", "Wrap the inventory REST API in a typed client"],
  },
  {
    taskType: "security_audit",
    weight: 2,
    core: ["SECURITY", "SECURITYAUDITOR", "CSO", "BASTION", "CRYPTOEXPERT", "REDTEAMORCHESTRATOR", "OVERSIGHT"],
    medianSeconds: 900,
    baseSuccess: 0.78,
    errors: ["scanner crashed on binary input", "audit incomplete: repository access denied", "timeout while fuzzing parser"],
    descriptions: ["Audit the authentication service for injection flaws", "Review key rotation procedure"],
  },
  {
    taskType: "bug_fix",
    weight: 6,
    core: ["DEBUGGER", "PATCHER", "TESTBED", "CONSTRUCTOR", "LINTER", "MONITOR"],
    medianSeconds: 180,
    baseSuccess: 0.9,
    errors: ["could not reproduce the failure", "regression test still failing", "patch conflicts with main"],
    descriptions: ["Fix null dereference in order export", "Race condition in cache invalidation", "Off-by-one in pagination"],
  },
  {
    taskType: "data_pipeline",
    weight: 2,
    core: ["DATABASE", "DATASCIENCE", "CONSTRUCTOR", "OPTIMIZER", "MONITOR", "INFRASTRUCTURE"],
    medianSeconds: 600,
    baseSuccess: 0.8,
    errors: ["out of memory while joining partitions", "deadlock detected", "source file has unexpected encoding"],
    descriptions: ["Nightly ETL from the CRM into the warehouse", "Backfill event table for 2023"],
  },
  {
    taskType: "ml_training",
    weight: 1,
    core: ["MLOPS", "DATASCIENCE", "NPU", "GNA", "OPTIMIZER", "RESEARCHER"],
    medianSeconds: 1800,
    baseSuccess: 0.72,
    errors: ["CUDA out of memory", "loss diverged (NaN) at epoch 3", "dataset shard missing"],
    descriptions: ["Fine-tune ranking model on March data", "Hyper-parameter sweep for churn model"],
  },
  {
    taskType: "infrastructure",
    weight: 2,
    core: ["INFRASTRUCTURE", "DEPLOYER", "PACKAGER", "MONITOR", "SECURITY", "C-INTERNAL"],
    medianSeconds: 540,
    baseSuccess: 0.84,
    errors: ["terraform plan drift detected", "container image push denied", "health check failed after deploy"],
    descriptions: ["Move staging to the new cluster", "Add autoscaling to the worker pool"],
  },
  {
    taskType: "documentation",
    weight: 1,
    core: ["DOCGEN", "RESEARCHER", "APIDESIGNER", "LINTER"],
    medianSeconds: 240,
    baseSuccess: 0.95,
    errors: ["broken links: 7", "doc build failed: unknown directive"],
    descriptions: ["Document the public API", "Write the upgrade guide for v2"],
  },
  {
    taskType: "mobile_app",
    weight: 1,
    core: ["ANDROIDMOBILE", "CONSTRUCTOR", "TESTBED", "PYGUI", "TUI", "DEBUGGER"],
    medianSeconds: 720,
    baseSuccess: 0.8,
    errors: ["emulator failed to boot", "signing key not found"],
    descriptions: ["Offline mode for the field app", "Push notification opt-in screen"],
  },
];

const TOTAL_WEIGHT = PROFILES.reduce((sum, p) => sum + p.weight, 0);
/** Start of the simulated timeline: executions are spread over the days after it. */
const EPOCH_MS = Date.UTC(2025, 0, 6, 8, 0, 0);

/** sfc32: a small, fast, seedable PRNG, so the same seed always yields the same world. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** A deterministic random stream for execution `index` of world `seed`: any execution can be made alone. */
function streamFor(seed: number, index: number): () => number {
  const next = sfc32(0x9e3779b9 ^ seed, index, 0x85ebca6b ^ index, seed + 0x27d4eb2f);
  for (let i = 0; i < 12; i++) next(); // mix the seed in
  return next;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** A standard normal variate (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function profileFor(random: () => number): TaskProfile {
  let r = random() * TOTAL_WEIGHT;
  for (const profile of PROFILES) {
    r -= profile.weight;
    if (r < 0) return profile;
  }
  return PROFILES[PROFILES.length - 1] as TaskProfile;
}

/** A team of 1 to 6 distinct agents, mostly from the task's core, sometimes anyone from the catalog. */
function teamFor(random: () => number, profile: TaskProfile): string[] {
  const sizes = [1, 2, 2, 3, 3, 3, 4, 4, 5, 6];
  const size = pick(random, sizes);
  const team: string[] = [];
  while (team.length < size) {
    const agent = random() < 0.8 ? pick(random, profile.core) : pick(random, CATALOG_AGENTS);
    if (!team.includes(agent)) team.push(agent);
  }
  return team;
}

/** The plain content of one simulated execution, before it becomes a message or a COPY line. */
export interface WorldExecution {
  executionId: string;
  taskType: string;
  taskDescription: string;
  complexity: number;
  agents: string[];
  durationSeconds: number;
  success: boolean;
  errorMessage: string;
  cpuPercent: number;
  memoryMb: number;
  metrics: Record<string, number>;
  userSatisfaction: number | undefined;
  startedAtMs: number;
  finishedAtMs: number;
}

/**
 * Execution `index` of world `seed`, with ids prefixed by `idPrefix` so that sections and rounds
 * never collide. Outcomes depend on the team (a tester and a debugger help, big teams pay for
 * coordination), so the data has the structure the learning features look for.
 */
export function worldExecution(seed: number, idPrefix: string, index: number): WorldExecution {
  const random = streamFor(seed, index);
  const profile = profileFor(random);
  const agents = teamFor(random, profile);
  const complexity = Math.round(Math.min(10, Math.max(0.1, 1 + gaussian(random) * 0.8 + random() * 2)) * 100) / 100;
  const coreShare = agents.filter((a) => profile.core.includes(a)).length / agents.length;
  let logit = Math.log(profile.baseSuccess / (1 - profile.baseSuccess));
  logit += (coreShare - 0.7) * 2 - (complexity - 1) * 0.35 - Math.max(0, agents.length - 4) * 0.3;
  if (agents.includes("TESTBED")) logit += 0.4;
  if (agents.includes("DEBUGGER")) logit += 0.25;
  const success = random() < 1 / (1 + Math.exp(-logit));
  const durationSeconds =
    Math.round(profile.medianSeconds * Math.sqrt(complexity) * (1 + 0.15 * agents.length) * Math.exp(0.5 * gaussian(random)) * 1000) / 1000;
  const startedAtMs = EPOCH_MS + index * 7_000 + Math.floor(random() * 5_000);
  const tokensIn = Math.round(2_000 + random() * 40_000 * complexity);
  const tokensOut = Math.round(tokensIn * (0.1 + random() * 0.4));
  return {
    executionId: `${idPrefix}-${seed}-${index}`,
    taskType: profile.taskType,
    taskDescription: `${pick(random, profile.descriptions)} (ticket #${10_000 + Math.floor(random() * 90_000)})`,
    complexity,
    agents,
    durationSeconds,
    success,
    errorMessage: success ? "" : pick(random, profile.errors),
    cpuPercent: Math.round((20 + random() * 60 * agents.length) * 10) / 10,
    memoryMb: Math.round(256 + random() * 512 * agents.length),
    metrics: {
      tokens_in: tokensIn,
      tokens_out: tokensOut,
      cost_usd: Math.round((tokensIn * 3 + tokensOut * 15) / 1e4) / 100,
      files_changed: Math.floor(random() * 25),
    },
    userSatisfaction: random() < 0.4 ? Math.min(10, Math.max(1, Math.round((success ? 7.5 : 3.5) + gaussian(random) * 1.5))) : undefined,
    startedAtMs,
    finishedAtMs: startedAtMs + Math.round(durationSeconds * 1000),
  };
}

/** The same execution as the API message a client sends. */
export function toExecutionMessage(e: WorldExecution): Execution {
  return create(ExecutionSchema, {
    executionId: e.executionId,
    taskType: e.taskType,
    taskDescription: e.taskDescription,
    complexity: e.complexity,
    agents: e.agents,
    durationSeconds: e.durationSeconds,
    success: e.success,
    errorMessage: e.errorMessage,
    resourceUsage: create(ResourceUsageSchema, { cpuPercent: e.cpuPercent, memoryMb: e.memoryMb, metrics: e.metrics }),
    userSatisfaction: e.userSatisfaction,
    startedAt: timestampFromMs(e.startedAtMs),
    finishedAt: timestampFromMs(e.finishedAtMs),
  });
}

/** `count` executions of world `seed` as plain objects, generated up front (outside any timing). */
export function worldExecutions(seed: number, idPrefix: string, count: number): WorldExecution[] {
  return Array.from({ length: count }, (_, i) => worldExecution(seed, idPrefix, i));
}
