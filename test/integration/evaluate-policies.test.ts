import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DatabasePool } from "slonik";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EvaluatePoliciesResponse, type PolicyEvaluation, PolicyVerdict } from "../../gen/agentlearning/v1/evaluation_pb.js";
import { LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { teamKey } from "../../src/domain/team.js";
import { createRng } from "../../src/sim/random.js";
import { worldExecution } from "../../src/sim/world-execution.js";
import { readEvaluationLog } from "../../src/store/evaluation-log.js";
import { createStorePool } from "../../src/store/pool.js";
import { requireCli, runCli } from "../support/run-cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// The compiled CLI, from the run's one build (a whole build may take minutes on a loaded machine).
beforeAll(requireCli, 300_000);

// EvaluatePolicies end to end: a recommendation loop through the real server (PredictAgents with
// exploration, the world runs the first team, RecordExecution credits it with the recommendation
// id; a tenth of the time the caller runs its own team instead), then the off-policy evaluation
// of the log, held to the counts and to the world's true probabilities.

const TASK = "bug_fix";
const DECISIONS = 400;

let server: TestServer;
let db: DatabasePool;
let evaluation: EvaluatePoliciesResponse;
let deviated = 0;
let followedSuccesses = 0;

beforeAll(async () => {
  // Evidence cached as in production (1 s): the loop's answers follow its outcomes as a served
  // orchestrator's would, a second behind at most, and every answer logs the propensities it was
  // drawn with, which is all the evaluation needs.
  server = await startTestServer({ config: { evidenceCacheMs: 1_000, analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000 } });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  db = await createStorePool(server.databaseUrl, { maximumPoolSize: 2 });
  await recordWorldHistory(server.learning, { taskTypes: [TASK], count: 600, seed: 11, idPrefix: "evaluate-history" });

  const rng = createRng(12);
  for (let n = 0; n < DECISIONS; n++) {
    const complexity = world.sampleComplexity(rng);
    const own = world.randomTeam(TASK, rng);
    const deviates = rng.chance(0.1);
    const answer = await server.learning.predictAgents({
      taskType: TASK,
      complexity,
      explorationRate: 0.3,
      successWeight: 1,
      maxRecommendations: 1,
      callerDefaultAgents: own,
    });
    const first = answer.recommendations[0];
    if (!first) throw new Error(`no recommendation: ${answer.explanation}`);
    const agents = deviates ? own : [...first.agents];
    const outcome = world.sampleExecution(TASK, agents, complexity, rng);
    // A caller whose own team happens to be the recommended one still followed it.
    const followed = teamKey(agents) === teamKey(first.agents);
    if (!followed) deviated++;
    else if (outcome.success) followedSuccesses++;
    await server.learning.recordExecution({
      execution: worldExecution(`evaluate-${n}`, { taskType: TASK, complexity, agents }, outcome, {
        recommendationId: first.recommendationId,
      }),
    });
  }
  evaluation = await server.admin.evaluatePolicies({ taskType: TASK });
}, 600_000);

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

const policy = (name: string): PolicyEvaluation => {
  const found = evaluation.policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name} in ${evaluation.policies.map((p) => p.name).join(", ")}`);
  return found;
};

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (error === undefined) throw new Error("expected the call to fail, but it succeeded");
  return error;
}

describe("EvaluatePolicies", () => {
  it("counts every credited decision, and leaves out those whose caller ran another team", () => {
    expect(Number(evaluation.creditedCount)).toBe(DECISIONS);
    expect(Number(evaluation.notFollowedCount)).toBe(deviated);
    expect(Number(evaluation.followedCount)).toBe(DECISIONS - deviated);
  });

  it("evaluates the logging policy, its greedy team, today's statistical greedy pick, uniform and the caller's default, logging first", () => {
    expect(evaluation.policies.map((p) => p.name)).toEqual(["logging", "greedy", "greedy-statistical", "uniform", "caller"]);
    expect(evaluation.method).toContain("doubly robust");
  });

  it("values the logging policy at its observed success rate over every followed decision", () => {
    const logging = policy("logging");
    const followed = DECISIONS - deviated;
    expect(logging.success?.ips?.value).toBeCloseTo(followedSuccesses / followed, 12);
    expect(logging.success?.doublyRobust?.value).toBeCloseTo(followedSuccesses / followed, 12);
    expect(logging.effectiveSampleSize).toBeCloseTo(followed, 9);
    expect(logging.verdict).toBe(PolicyVerdict.OK);
  });

  it("estimates the greedy policy within 4 standard errors of its true value in the world", async () => {
    const decisions = (await readEvaluationLog(db, { taskType: TASK })).filter((d) => d.followed);
    const truth =
      decisions.reduce((s, d) => s + world.successProbability(TASK, d.greedy_agent_set.split(","), d.complexity), 0) / decisions.length;
    const greedy = policy("greedy");
    const dr = greedy.success!.doublyRobust!;
    expect(Math.abs(dr.value - truth)).toBeLessThan(4 * dr.standardError);
    expect(greedy.supportedShare).toBe(1);
    expect(Number(greedy.matchedCount)).toBeLessThan(decisions.length);
    expect(greedy.effectiveSampleSize).toBeLessThan(decisions.length);
    expect(greedy.verdict).toBe(PolicyVerdict.OK);
  });

  it("gives the uniform policy no doubly robust estimate: the log holds the candidates' number, not the candidates", () => {
    const uniform = policy("uniform");
    expect(uniform.success?.doublyRobust).toBeUndefined();
    expect(uniform.success?.ips).toBeDefined();
  });

  it("judges the caller's default on the decisions where the caller offered one", () => {
    expect(Number(policy("caller").decisionCount)).toBe(DECISIONS - deviated);
  });

  it("says the data cannot tell when no decision matches the filter", async () => {
    const empty = await server.admin.evaluatePolicies({ taskType: TASK, since: timestampFromMs(Date.now() + 60_000) });
    expect(Number(empty.creditedCount)).toBe(0);
    expect(empty.policies.map((p) => p.verdict)).toEqual(empty.policies.map(() => PolicyVerdict.NO_DATA));
    expect(empty.policies[0]?.explanation).toContain("cannot tell");
  });

  it("rejects a malformed task type with a field violation on task_type", async () => {
    const error = await failure(server.admin.evaluatePolicies({ taskType: "not a task type!" }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("task_type");
  });

  it("rejects a since time with out-of-range nanos with a field violation on since.nanos", async () => {
    const error = await failure(server.admin.evaluatePolicies({ since: create(TimestampSchema, { seconds: 1n, nanos: -1 }) }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("since.nanos");
  });

  it("is what `agent-learning evaluate` prints, as a table or as JSON", async () => {
    const human = await runCli(["evaluate", "--task-type", TASK, "--address", server.url]);
    expect(human.stderr).toBe("");
    expect(human.stdout).toContain(`${DECISIONS} credited decisions: ${DECISIONS - deviated} followed`);
    expect(human.stdout).toMatch(/^ {2}greedy-statistical /m);
    const json = await runCli(["evaluate", "--task-type", TASK, "--json", "--address", server.url]);
    const parsed = JSON.parse(json.stdout) as { creditedCount: string; policies: { name: string }[] };
    expect(parsed.creditedCount).toBe(String(DECISIONS));
    expect(parsed.policies.map((p) => p.name)).toEqual(["logging", "greedy", "greedy-statistical", "uniform", "caller"]);
  });

  it("refuses a --since that is not a time before calling the server", async () => {
    const run = await runCli(["evaluate", "--since", "yesterday", "--address", server.url]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("ISO 8601");
  });
});
