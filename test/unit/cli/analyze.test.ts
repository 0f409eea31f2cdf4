import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AnalyzeResponseSchema } from "../../../gen/agentlearning/v1/admin_service_pb.js";
import { formatAnalysis } from "../../../src/cli/commands/analyze.js";

describe("formatAnalysis", () => {
  it("reports what the analysis created, updated and retired", () => {
    const response = create(AnalyzeResponseSchema, { createdCount: 3, updatedCount: 1, retiredCount: 0, executionCount: 1200n });
    expect(formatAnalysis(response, "")).toBe("analysed 1200 executions of all task types: 3 insights created, 1 updated, 0 retired");
    expect(formatAnalysis(create(AnalyzeResponseSchema, { createdCount: 1, executionCount: 1n }), "bug_fix")).toBe(
      "analysed 1 execution of bug_fix: 1 insight created, 0 updated, 0 retired",
    );
  });
});
