import { describe, expect, it } from "vitest";
import { agentSetKey, contentHash, type ExecutionRecord } from "../../../src/store/execution-record.js";

const record: ExecutionRecord = {
  executionId: "hash-probe-1",
  taskType: "web_development",
  taskDescription: 'build "it" — ü',
  complexity: 2.5,
  agents: ["ARCHITECT", "DEBUGGER"],
  durationSeconds: 12.75,
  success: false,
  errorMessage: "boom",
  cpuPercent: 12.5,
  memoryMb: null,
  metrics: { zeta: 1, alpha: -2.5, "10": 3 },
  userSatisfaction: 7,
  startedAtUs: 1_700_000_000_123_456n,
  finishedAtUs: null,
  recommendationId: "rec-1",
  modelVersion: null,
};

describe("the execution row", () => {
  it("hashes a record exactly as every stored hash was computed, so re-sends of stored executions stay duplicates", () => {
    // Computed by the implementation that wrote the hashes already in databases (before the row
    // was defined once): changing the canonical form would turn faithful re-sends into conflicts.
    expect(contentHash(record).toString("hex")).toBe("122a45f9c953654c09fb964ead97e0bea6746cabc9f107019f5471b00e7c5c3f");
  });

  it("gives the same hash whatever the order of the metrics, and another for any change of content", () => {
    const reordered = { ...record, metrics: { "10": 3, alpha: -2.5, zeta: 1 } };
    expect(contentHash(reordered).equals(contentHash(record))).toBe(true);
    expect(contentHash({ ...record, durationSeconds: 12.76 }).equals(contentHash(record))).toBe(false);
    expect(contentHash({ ...record, finishedAtUs: 1_700_000_001_000_000n }).equals(contentHash(record))).toBe(false);
  });

  it("keys a team by its set of agents, order ignored", () => {
    expect(agentSetKey(["DEBUGGER", "ARCHITECT"])).toBe(agentSetKey(["ARCHITECT", "DEBUGGER"]));
    expect(agentSetKey(["DEBUGGER", "ARCHITECT"])).toBe("ARCHITECT,DEBUGGER");
  });
});
