import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { InsightType } from "../../../gen/agentlearning/v1/learning_pb.js";
import { INSIGHT_TYPE_NAMES, insightTypeName, parseInsightTypes } from "../../../src/cli/insight-types.js";

describe("insight type names", () => {
  it("name every published type after the proto enum, in lower case", () => {
    expect([...INSIGHT_TYPE_NAMES.keys()]).toEqual([
      "best_combo",
      "avoid_pattern",
      "bottleneck",
      "underperforming_agent",
      "anomaly",
      "trend",
    ]);
    expect(insightTypeName(InsightType.UNDERPERFORMING_AGENT)).toBe("underperforming_agent");
  });

  it("parse a comma-separated list into enum values, in the order given, without repeats", () => {
    expect(parseInsightTypes("avoid_pattern,best_combo, avoid_pattern")).toEqual([InsightType.AVOID_PATTERN, InsightType.BEST_COMBO]);
  });

  it("accept the proto's own spelling in any case", () => {
    expect(parseInsightTypes("INSIGHT_TYPE_BEST_COMBO,Trend")).toEqual([InsightType.BEST_COMBO, InsightType.TREND]);
  });

  it("add to the list when the option is repeated", () => {
    expect(parseInsightTypes("trend", [InsightType.ANOMALY])).toEqual([InsightType.ANOMALY, InsightType.TREND]);
  });

  it("reject an unknown name with a usage error that lists the valid ones", () => {
    expect(() => parseInsightTypes("best_combo,best_team")).toThrow(InvalidArgumentError);
    expect(() => parseInsightTypes("best_team")).toThrow(
      'unknown insight type "best_team"; expected one of best_combo, avoid_pattern, bottleneck, underperforming_agent, anomaly, trend',
    );
  });

  it("reject unspecified and an empty list", () => {
    expect(() => parseInsightTypes("unspecified")).toThrow(/unknown insight type/);
    expect(() => parseInsightTypes(" , ")).toThrow(/expected one or more/);
  });
});
