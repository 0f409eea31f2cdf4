import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Insight, InsightStatus } from "../../gen/agentlearning/v1/learning_pb.js";
import { insightTypeName } from "./insight-types.js";
import { formatTable } from "./table.js";

/** A team as one compact cell: "WEB+APIDESIGNER+TESTBED"; "—" for findings about no agent. */
export function teamText(agents: readonly string[]): string {
  return agents.length === 0 ? "—" : agents.join("+");
}

/**
 * Insights as a table (type, task type, agents, confidence, sample size, description), shared by
 * `insights` and `dashboard` so a finding reads the same in both. The description gives way
 * when `width` is set; retired insights are marked so a --status retired listing is unambiguous.
 */
export function formatInsightTable(insights: readonly Insight[], options: { indent?: string; width?: number } = {}): string {
  return formatTable(
    [
      { header: "type" },
      { header: "task type" },
      { header: "agents", maxWidth: 48 },
      { header: "confidence", align: "right" },
      { header: "sample", align: "right" },
      { header: "description", flex: true },
    ],
    insights.map((insight) => [
      insightTypeName(insight.type) + (insight.status === InsightStatus.RETIRED ? " (retired)" : ""),
      insight.taskType || "all",
      teamText(insight.agents),
      insight.confidence.toFixed(3),
      String(insight.sampleSize),
      insight.description,
    ]),
    options,
  );
}

/**
 * One insight as one line, for `insights --follow`, where rows arrive one by one and cannot be
 * aligned as a table: time, type, task type, agents, confidence, sample size, description.
 */
export function formatInsightLine(insight: Insight): string {
  const time = insight.updatedAt ? timestampDate(insight.updatedAt).toISOString() : "-";
  const retired = insight.status === InsightStatus.RETIRED ? " RETIRED" : "";
  return (
    `${time}${retired} ${insightTypeName(insight.type)} ${insight.taskType || "all"} ${teamText(insight.agents)} ` +
    `confidence ${insight.confidence.toFixed(3)} n=${insight.sampleSize}: ${insight.description}`
  );
}
