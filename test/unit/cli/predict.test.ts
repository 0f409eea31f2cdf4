import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EstimateSource, LearningMode } from "../../../gen/agentlearning/v1/learning_pb.js";
import { PredictAgentsResponseSchema } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { formatPrediction } from "../../../src/cli/commands/predict.js";

const answer = create(PredictAgentsResponseSchema, {
  recommendations: [
    {
      recommendationId: "rec-1",
      agents: ["WEB", "APIDESIGNER", "TESTBED"],
      successProbability: 0.93,
      successInterval: { lower: 0.88, upper: 0.965, level: 0.9 },
      expectedDurationSeconds: 290,
      durationInterval: { lower: 190, upper: 420, level: 0.9 },
      confidence: 0.82,
      rationale: "42 runs of this team",
      propensity: 0.9,
      source: EstimateSource.MODEL,
      modelVersion: "m-3",
      sampleSize: 42n,
    },
    {
      recommendationId: "rec-2",
      agents: ["WEB", "APIDESIGNER"],
      successProbability: 0.7,
      successInterval: { lower: 0.5, upper: 0.85, level: 0.9 },
      expectedDurationSeconds: 357,
      confidence: 0.3,
      rationale: "under-tested",
      propensity: 0.1,
      exploratory: true,
      source: EstimateSource.STATISTICAL,
      sampleSize: 3n,
    },
  ],
  applied: true,
  mode: LearningMode.ADAPTIVE,
  explanation: "ranked by 0.8 × success + 0.2 × speed",
});

describe("formatPrediction", () => {
  it("ranks the teams in a table with success and duration intervals, confidence, sample, source and propensity", () => {
    const lines = formatPrediction(answer).split("\n");
    expect(lines[0]).toMatch(/^#\s+agents\s+success \[90%\]\s+duration \[90%\]\s+confidence\s+n\s+source\s+propensity\s+rationale$/);
    expect(lines[1]).toMatch(
      /^1\s+WEB\+APIDESIGNER\+TESTBED\s+93\.0% \(88\.0–96\.5%\)\s+4m 50s \(3m 10s–7m 00s\)\s+0\.82\s+42\s+model m-3\s+0\.90\s+42 runs of this team$/,
    );
    expect(lines[2]).toMatch(
      /^2\s+WEB\+APIDESIGNER\s+70\.0% \(50\.0–85\.0%\)\s+5m 57s\s+0\.30\s+3\s+statistical, exploring\s+0\.10\s+under-tested$/,
    );
  });

  it("adds the probability of finishing in time when the request set a deadline", () => {
    const timed = create(PredictAgentsResponseSchema, {
      ...answer,
      recommendations: answer.recommendations.map((r, i) => ({ ...r, deadlineProbability: i === 0 ? 0.97 : 0.84 })),
    });
    const lines = formatPrediction(timed).split("\n");
    expect(lines[0]).toMatch(/\s+propensity\s+in time\s+rationale$/);
    expect(lines[1]).toMatch(/\s+0\.90\s+97\.0%\s+42 runs of this team$/);
    expect(lines[2]).toMatch(/\s+0\.10\s+84\.0%\s+under-tested$/);
  });

  it("says how the answer came about", () => {
    const text = formatPrediction(answer);
    expect(text).toContain("mode: adaptive   applied: yes   cold start: no");
    expect(text).toContain("explanation: ranked by 0.8 × success + 0.2 × speed");
  });

  it("says so when there is no recommendation, with the reason", () => {
    const empty = create(PredictAgentsResponseSchema, { mode: LearningMode.ADVISORY, explanation: "below advisory threshold 0.8" });
    expect(formatPrediction(empty).split("\n")).toEqual([
      "no recommendation",
      "mode: advisory   applied: no   cold start: no",
      "explanation: below advisory threshold 0.8",
    ]);
  });

  it("shows the observation report of observation mode", () => {
    const observed = create(PredictAgentsResponseSchema, {
      mode: LearningMode.OBSERVATION,
      observation: {
        servicePick: ["DEBUGGER", "PATCHER"],
        comparedCount: 120n,
        agreementRate: 0.78,
        callerSuccessRate: 0.61,
        serviceEstimatedSuccessRate: 0.74,
      },
    });
    expect(formatPrediction(observed)).toContain(
      "observation: the service would pick DEBUGGER+PATCHER; it agreed with callers in 78.0% of 120 decisions; " +
        "where they differed, callers succeeded 61.0% and the service's picks are estimated at 74.0%",
    );
  });

  it("gives way on the rationale to fit a narrow terminal", () => {
    for (const line of formatPrediction(answer, 150).split("\n").slice(0, 3)) expect([...line].length).toBeLessThanOrEqual(150);
  });
});
