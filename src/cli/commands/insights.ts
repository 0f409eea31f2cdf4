import { toJson, toJsonString } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type Command, Option } from "commander";
import { type Insight, InsightSchema, InsightStatus, type InsightType } from "../../../gen/agentlearning/v1/learning_pb.js";
import type { LearningService } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { CliFailure } from "../failure.js";
import { formatInsightLine, formatInsightTable } from "../insight-table.js";
import { parseInsightTypes } from "../insight-types.js";
import { interruptOnSigint } from "../interrupt.js";
import { nameList, numberIn } from "../option-parsers.js";
import { type ClientOptions, withClientOptions } from "../options.js";
import { plural, printErrors, printResult } from "../output.js";
import { withClient } from "../with-client.js";

interface InsightsOptions extends ClientOptions {
  type?: InsightType[];
  taskType?: string[];
  minConfidence?: number;
  status?: "active" | "retired";
  follow?: boolean;
  after?: string;
}

/** The filters ListInsights and StreamInsights share. */
interface Filters {
  types: InsightType[];
  taskTypes: string[];
  minConfidence: number;
}

/** The largest page ListInsights serves: fewer round trips for a full listing. */
const PAGE_SIZE = 500;

/** Registers `insights`: what pattern analysis found, as a table or as a live feed. */
export function registerInsights(program: Command): void {
  withClientOptions(
    program
      .command("insights")
      .description("list the insights pattern analysis published, or --follow them as they are published")
      .option(
        "--type <types>",
        "only these types (comma-separated): best_combo, avoid_pattern, bottleneck, underperforming_agent, anomaly, trend",
        parseInsightTypes,
      )
      .option("--task-type <types>", "only these task types (comma-separated; repeatable)", nameList)
      .option("--min-confidence <c>", "only insights with at least this confidence, 0 to 1", numberIn(0, 1))
      .addOption(
        new Option("--status <status>", "active (default) or retired insights; with --follow, filters the feed here").choices([
          "active",
          "retired",
        ]),
      )
      .option("--follow", "stream insights as they are published, until Ctrl-C")
      .option("--after <cursor>", "with --follow: resume after this cursor (printed when a follow ends) instead of from the beginning"),
  ).action((options: InsightsOptions) => {
    if (options.after !== undefined && !options.follow) throw new CliFailure("--after applies only with --follow");
    const filters: Filters = { types: options.type ?? [], taskTypes: options.taskType ?? [], minConfidence: options.minConfidence ?? 0 };
    return withClient(options.address, ({ learning }) =>
      options.follow ? follow(learning, filters, options) : list(learning, filters, options),
    );
  });
}

/** Pages through ListInsights and prints everything as one table (or one JSON document). */
async function list(learning: Client<typeof LearningService>, filters: Filters, options: InsightsOptions): Promise<void> {
  const status = options.status === "retired" ? InsightStatus.RETIRED : InsightStatus.ACTIVE;
  const insights: Insight[] = [];
  let pageToken = "";
  do {
    const page = await learning.listInsights({ ...filters, status, pageSize: PAGE_SIZE, pageToken });
    insights.push(...page.insights);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  printResult(
    options,
    () =>
      insights.length === 0
        ? `no ${options.status ?? "active"} insights`
        : `${formatInsightTable(insights, { width: process.stdout.isTTY ? process.stdout.columns : undefined })}\n${plural(insights.length, "insight")}`,
    () => ({ insights: insights.map((insight) => toJson(InsightSchema, insight, { alwaysEmitImplicit: true })) }),
  );
}

/**
 * Follows StreamInsights until Ctrl-C (exit 0) or the stream ends, printing each insight as it
 * arrives: a line of text, or with --json one JSON document per line. Heartbeats only move the
 * cursor. The last cursor goes to stderr on any exit, so the user can resume without loss.
 */
async function follow(learning: Client<typeof LearningService>, filters: Filters, options: InsightsOptions): Promise<void> {
  const wanted = options.status === undefined ? undefined : options.status === "retired" ? InsightStatus.RETIRED : InsightStatus.ACTIVE;
  const interrupt = interruptOnSigint();
  let cursor = options.after ?? "";
  let received = 0;
  try {
    const stream = learning.streamInsights(
      { ...filters, afterCursor: cursor, fromBeginning: options.after === undefined },
      { signal: interrupt.signal },
    );
    for await (const message of stream) {
      const event = message.event;
      if (event.case === "heartbeat") {
        if (event.value.cursor) cursor = event.value.cursor;
      } else if (event.case === "insight") {
        const insight = event.value;
        if (insight.cursor) cursor = insight.cursor;
        if (wanted !== undefined && insight.status !== wanted) continue;
        received++;
        process.stdout.write(`${options.json ? toJsonString(InsightSchema, insight) : formatInsightLine(insight)}\n`);
      }
    }
    printErrors(["the service ended the stream"]);
  } catch (error) {
    // Ctrl-C cancels the call (CANCELED, or the abort itself): how a follow is meant to end, not a failure.
    if (!interrupt.signal.aborted) throw error;
  } finally {
    interrupt.dispose();
    printErrors([
      `${plural(received, "insight")} received` +
        (cursor ? `; resume with: agent-learning insights --follow --after ${cursor}` : "; no cursor reached yet"),
    ]);
  }
}
