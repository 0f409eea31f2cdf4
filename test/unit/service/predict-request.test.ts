import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { type PredictAgentsRequest, PredictAgentsRequestSchema } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { createRng } from "../../../src/sim/random.js";
import { parsePredictAgents, plainlyValid, predictAgentsSchema } from "../../../src/service/predict-request.js";
import { violationsOf } from "../../../src/service/validation.js";

// Values for each field: valid ones, and ones the schema rejects or normalises (case, spaces,
// Unicode folding, duplicates, NUL, lone surrogates, NaN, infinities, limits and one past them).
const TASK_TYPES = [
  "web_development",
  "Web_Dev",
  "a",
  "a.b-c_9",
  " web",
  "web ",
  "",
  "-web",
  "x".repeat(64),
  "x".repeat(65),
  "\u212Aelvin",
  "we\u0000b",
  "web dev",
  "İstanbul",
];
const AGENTS = [
  "CODER",
  "reviewer",
  "Tester_2",
  "a",
  " CODER",
  "",
  "-X",
  "straße",
  "\uD800",
  "A".repeat(64),
  "A".repeat(65),
  "co der",
  "x\u0000",
];
const NUMBERS = [0, 0.5, 1, 2.5, 10, -1, 10.01, 11, Number.NaN, Number.POSITIVE_INFINITY, 1e-9, 0.999];
const INTEGERS = [0, 1, 3, 20, 21, 64, 65, -2, 2.5];
const TEXTS = [
  "",
  "a task",
  "x".repeat(256),
  "x".repeat(257),
  "nul\u0000",
  "lone \uDC00",
  "pair \uD83D\uDE00",
  "y".repeat(8192),
  "y".repeat(8193),
];

describe("parsePredictAgents", () => {
  test("answers exactly as the schema does, for valid and invalid requests alike (3,000 random requests)", () => {
    const rng = createRng(20261202);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(rng.next() * values.length)]!;
    const maybe = <T>(value: () => T): T | undefined => (rng.next() < 0.5 ? undefined : value());
    const agents = (max: number) => Array.from({ length: Math.floor(rng.next() * max) }, () => pick(AGENTS));
    let plain = 0;
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      // Mostly plain requests, so both answers are exercised often.
      const clean = rng.next() < 0.5;
      const deadlineSeconds = clean ? maybe(() => 60) : maybe(() => pick(NUMBERS) * 100);
      const request: PredictAgentsRequest = create(PredictAgentsRequestSchema, {
        taskType: clean ? pick(["web_development", "Web_Dev", "a.b-c_9"]) : pick(TASK_TYPES),
        complexity: clean ? pick([0, 2.5, 10]) : pick(NUMBERS) * (rng.next() < 0.5 ? 1 : 7),
        taskDescription: clean ? pick(["", "a task"]) : pick(TEXTS),
        maxRecommendations: clean ? pick([0, 3, 20]) : pick(INTEGERS),
        requiredAgents: clean ? pick([[], ["CODER"], ["coder", "CODER"]]) : agents(3),
        excludedAgents: clean ? pick([[], ["reviewer"]]) : agents(3),
        maxAgents: clean ? pick([0, 3]) : pick(INTEGERS),
        successWeight: maybe(() => (clean ? pick([0, 0.5, 1]) : pick(NUMBERS))),
        explorationRate: maybe(() => (clean ? pick([0, 0.1]) : pick(NUMBERS))),
        callerDefaultAgents: clean ? pick([[], ["Tester_2", "CODER"]]) : agents(3),
        deadlineSeconds,
        deadlineLevel: clean ? (deadlineSeconds === undefined ? undefined : maybe(() => 0.95)) : maybe(() => pick(NUMBERS)),
        routingKey: clean ? pick(["", "tenant-7"]) : pick(TEXTS),
      });
      const expected = predictAgentsSchema.safeParse(request);
      if (plainlyValid(request)) plain++;
      if (expected.success) {
        valid++;
        expect(parsePredictAgents(request), JSON.stringify(request)).toEqual(expected.data);
      } else {
        expect(plainlyValid(request), JSON.stringify(request)).toBeUndefined();
        let thrown: unknown;
        try {
          parsePredictAgents(request);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(ConnectError);
        expect(String((thrown as ConnectError).message)).toContain(violationsOf(expected.error)[0]!.field);
      }
    }
    // Both ways are taken often, and most valid requests take the one-pass way.
    expect(valid).toBeGreaterThan(1000);
    expect(3000 - valid).toBeGreaterThan(1000);
    expect(plain).toBeGreaterThan(valid / 2);
  });

  test("reads a typical request in one pass, normalising case and applying the defaults", () => {
    const request = create(PredictAgentsRequestSchema, {
      taskType: "Web_Development",
      complexity: 2,
      requiredAgents: ["coder", "CODER"],
      deadlineSeconds: 60,
    });
    expect(plainlyValid(request)).toMatchObject({
      taskType: "web_development",
      requiredAgents: ["CODER"],
      maxRecommendations: 3,
      successWeight: 0.8,
      deadline: { seconds: 60, level: 0.8 },
    });
  });
});
