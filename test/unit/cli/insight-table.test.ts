import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { InsightSchema, InsightStatus, InsightType } from "../../../gen/agentlearning/v1/learning_pb.js";
import { formatInsightLine, formatInsightTable } from "../../../src/cli/insight-table.js";

const avoid = create(InsightSchema, {
  type: InsightType.AVOID_PATTERN,
  status: InsightStatus.ACTIVE,
  taskType: "web_development",
  agents: ["DEPLOYER", "PACKAGER"],
  confidence: 0.9991,
  sampleSize: 64n,
  description: "DEPLOYER with PACKAGER succeeds 18% vs 62%: dependency conflict between PACKAGER and DEPLOYER",
  updatedAt: timestampFromDate(new Date("2025-01-01T12:00:00Z")),
});

describe("insight output", () => {
  it("lays insights out as a table of type, task type, agents, confidence, sample size and description", () => {
    expect(formatInsightTable([avoid]).split("\n")).toEqual([
      "type           task type        agents             confidence  sample  description",
      "avoid_pattern  web_development  DEPLOYER+PACKAGER       0.999      64  DEPLOYER with PACKAGER succeeds 18% vs 62%: dependency conflict between PACKAGER and DEPLOYER",
    ]);
  });

  it("marks retired insights and findings across task types", () => {
    const retired = create(InsightSchema, { ...avoid, status: InsightStatus.RETIRED, taskType: "", agents: [] });
    expect(formatInsightTable([retired]).split("\n")[1]).toMatch(/^avoid_pattern \(retired\)\s+all\s+—/);
  });

  it("prints one line per insight for a live feed", () => {
    expect(formatInsightLine(avoid)).toBe(
      "2025-01-01T12:00:00.000Z avoid_pattern web_development DEPLOYER+PACKAGER confidence 0.999 n=64: " +
        "DEPLOYER with PACKAGER succeeds 18% vs 62%: dependency conflict between PACKAGER and DEPLOYER",
    );
  });
});
