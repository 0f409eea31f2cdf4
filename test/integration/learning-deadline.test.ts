import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EstimateSource, LearningMode } from "../../gen/agentlearning/v1/learning_pb.js";
import type {
  PredictAgentsRequest,
  PredictAgentsRequestSchema,
  PredictAgentsResponse,
} from "../../gen/agentlearning/v1/learning_service_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { normalCdf } from "../../src/learning/normal.js";
import { byKind, QUIET_MODELS, rejectionOf, reportFigures } from "../support/model-fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { recordWorldHistory, world } from "../support/world-history.js";

// PredictAgents with a deadline, on the synthetic world whose durations are known: one agent per
// task type (RESEARCHER in web_development) makes every team it joins 1.8× slower. A deadline
// below the slow team's true median leaves it out, statistically and with the models serving;
// a deadline no team can meet gives an empty answer that says so.

const TASK = "web_development";
const COMPLEXITY = 2;
const SLOW = world.slowAgent(TASK);
/** The world's own log-duration noise (src/sim/world.ts). */
const DURATION_SIGMA = 0.35;

const trueMedian = (agents: readonly string[]) => world.expectedDuration(TASK, agents, COMPLEXITY) / Math.exp(DURATION_SIGMA ** 2 / 2);
/** The true probability that one execution of the team at COMPLEXITY takes at most `seconds`. */
const trueWithin = (agents: readonly string[], seconds: number) => normalCdf(Math.log(seconds / trueMedian(agents)) / DURATION_SIGMA);

/** The slow team of the world's history, and a deadline below its true median (it meets it ~36% of the time). */
const slowTeam = world.candidateTeams(TASK).find((t) => t.includes(SLOW))!;
const TIGHT = Math.round(0.88 * trueMedian(slowTeam));

type PredictRequest = Exclude<MessageInitShape<typeof PredictAgentsRequestSchema>, PredictAgentsRequest>;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ config: QUIET_MODELS });
  await server.admin.setLearningMode({ mode: LearningMode.AUTONOMOUS });
  await recordWorldHistory(server.learning, { taskTypes: world.taskTypes, count: 4_000, seed: 7_301 });
});

afterAll(async () => {
  await server?.stop();
});

/** PredictAgents ranked by success only, without exploration, with up to 20 teams. */
function predict(request: PredictRequest = {}): Promise<PredictAgentsResponse> {
  return server.learning.predictAgents({
    taskType: TASK,
    complexity: COMPLEXITY,
    explorationRate: 0,
    successWeight: 1,
    maxRecommendations: 20,
    ...request,
  });
}

/** What every answer under the tight deadline must show, whatever estimated the durations. */
async function expectSlowTeamsLeftOut(source: EstimateSource): Promise<void> {
  // Teams around the slow team's other agents, so that it is among the candidates ranked.
  const around = { requiredAgents: slowTeam.filter((a) => a !== SLOW), maxAgents: slowTeam.length };
  const free = await predict(around);
  expect(
    free.recommendations.some((r) => r.agents.includes(SLOW)),
    "without a deadline a slow team is ranked",
  ).toBe(true);
  const tight = await predict({ ...around, deadlineSeconds: TIGHT });
  reportFigures(`deadline ${TIGHT} s (${EstimateSource[source]})`, {
    kept: tight.recommendations.map((r) => ({ agents: r.agents.join("+"), p: r.deadlineProbability, truth: trueWithin(r.agents, TIGHT) })),
    explanation: tight.explanation,
  });
  expect(tight.recommendations.length).toBeGreaterThan(0);
  expect(tight.recommendations.length).toBeLessThan(free.recommendations.length);
  for (const r of tight.recommendations) {
    const team = r.agents.join("+");
    expect(r.source, team).toBe(source);
    expect(r.agents, team).not.toContain(SLOW);
    expect(r.deadlineProbability, team).toBeGreaterThanOrEqual(0.8);
    expect(r.deadlineProbability, team).toBeLessThanOrEqual(1);
    // The kept teams are truly likelier than not to finish in time (the estimate is over all
    // complexities the history holds, the truth at this one: a loose bound).
    expect(trueWithin(r.agents, TIGHT), team).toBeGreaterThan(0.5);
  }
  expect(tight.explanation).toMatch(/left out: unlikely to finish within/);
  // Without a deadline nothing says anything about one.
  expect(free.recommendations.every((r) => r.deadlineProbability === 0)).toBe(true);
}

describe("PredictAgents with a deadline (statistical estimates)", () => {
  it("leaves out every team with the slow agent under a deadline below its true median", async () => {
    await expectSlowTeamsLeftOut(EstimateSource.STATISTICAL);
  });

  it("answers a team that must include the slow agent with an empty list that says none qualifies", async () => {
    const required = await predict({ requiredAgents: [SLOW], deadlineSeconds: TIGHT });
    expect(required.recommendations).toEqual([]);
    expect(required.explanation).toMatch(/no team qualifies for the deadline/);
  });

  it("answers an impossible deadline with an empty list and an explanation, not an error", async () => {
    const none = await predict({ deadlineSeconds: 1 });
    expect(none.recommendations).toEqual([]);
    expect(none.applied).toBe(false);
    expect(none.explanation).toMatch(
      /no team qualifies for the deadline: none of \d+ candidate teams finishes within 1 s with probability ≥ 0\.8 \(the likeliest: \d+%\)/,
    );
  });

  it("holds teams to the level asked: a lower level admits more of them", async () => {
    const strict = await predict({ deadlineSeconds: TIGHT, deadlineLevel: 0.95 });
    const loose = await predict({ deadlineSeconds: TIGHT, deadlineLevel: 0.3 });
    for (const r of strict.recommendations) expect(r.deadlineProbability).toBeGreaterThanOrEqual(0.95);
    for (const r of loose.recommendations) expect(r.deadlineProbability).toBeGreaterThanOrEqual(0.3);
    expect(loose.recommendations.length).toBeGreaterThan(strict.recommendations.length);
  });

  it("gives the qualifying teams all the propensity when exploring", async () => {
    const answer = await predict({ deadlineSeconds: TIGHT, explorationRate: 1, maxRecommendations: 20 });
    for (const r of answer.recommendations) expect(r.agents).not.toContain(SLOW);
    expect(answer.recommendations.reduce((sum, r) => sum + r.propensity, 0)).toBeGreaterThan(0.5);
  });

  for (const [field, request] of [
    ["deadline_seconds", { deadlineSeconds: -1 }],
    ["deadline_seconds", { deadlineSeconds: Number.NaN }],
    ["deadline_seconds", { deadlineSeconds: Number.POSITIVE_INFINITY }],
    ["deadline_level", { deadlineSeconds: 60, deadlineLevel: 0 }],
    ["deadline_level", { deadlineSeconds: 60, deadlineLevel: 1 }],
    ["deadline_level", { deadlineSeconds: 60, deadlineLevel: 1.5 }],
    ["deadline_level", { deadlineSeconds: 60, deadlineLevel: Number.NaN }],
    ["deadline_level", { deadlineLevel: 0.9 }],
  ] as const) {
    it(`refuses ${JSON.stringify(request, (_, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))} with INVALID_ARGUMENT naming ${field}`, async () => {
      const error = await rejectionOf(predict(request));
      expect(error.code).toBe(Code.InvalidArgument);
      const fields = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
      expect(fields).toEqual([field]);
    });
  }
});

describe("PredictAgents with a deadline (the models serving)", () => {
  beforeAll(async () => {
    byKind((await server.admin.retrain({})).models);
  });

  it("judges the deadline by the duration model and still leaves out every team with the slow agent", async () => {
    await expectSlowTeamsLeftOut(EstimateSource.MODEL);
  });

  it("answers an impossible deadline with an empty list and an explanation", async () => {
    const none = await predict({ deadlineSeconds: 1 });
    expect(none.recommendations).toEqual([]);
    expect(none.explanation).toMatch(/no team qualifies for the deadline/);
  });
});
