import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Insight, InsightStatus, InsightType } from "../../../gen/agentlearning/v1/learning_pb.js";
import { type Api, describeError, needsToken } from "../api.js";
import { count, h, prob, section, when } from "../dom.js";

/** Versions kept in the event log on screen. */
const LOG_LIMIT = 200;

/**
 * The live insight feed over StreamInsights (Connect protocol, server streaming over fetch). The
 * first stream replays the feed from its beginning; after a break the page reconnects with the
 * last cursor it saw (from an insight or a heartbeat), so nothing is missed or shown twice.
 */
export async function insightsPage(root: HTMLElement, api: Api, signal: AbortSignal, askToken: () => void): Promise<void> {
  const state = h("span", { class: "badge", "data-testid": "feed-state", role: "status" }, "connecting");
  const cursorText = h("code", { "data-testid": "feed-cursor" }, "—");
  const list = h("ol", { class: "insights", "data-testid": "insight-list", "aria-live": "polite" });
  const log = h("ol", { class: "feed-log", "data-testid": "feed-log" });
  root.append(
    h(
      "p",
      { class: "lead" },
      "Feed: ",
      state,
      " · cursor ",
      cursorText,
      " · reconnects: ",
      h("span", { "data-testid": "feed-reconnects" }, "0"),
    ),
    section("Insights (latest version of each)", list),
    section("Feed events, newest first", log),
  );
  const latest = new Map<string, Insight>();
  let cursor = "";
  let reconnects = 0;
  let delay = 500;
  const render = () => {
    // The map holds each insight once, in the order its latest version arrived: newest last.
    list.replaceChildren(...[...latest.values()].reverse().map(insightItem));
  };
  const receive = (insight: Insight) => {
    latest.delete(insight.insightId);
    latest.set(insight.insightId, insight);
    cursor = insight.cursor;
    cursorText.textContent = cursor;
    log.prepend(
      h(
        "li",
        { "data-cursor": insight.cursor },
        `${when(insight.updatedAt ? timestampDate(insight.updatedAt) : undefined)} · ${typeName(insight.type)} · ${insight.description}`,
      ),
    );
    while (log.childElementCount > LOG_LIMIT) log.lastElementChild?.remove();
    render();
  };
  // Runs until the page is left; each pass is one stream.
  void (async () => {
    while (!signal.aborted) {
      try {
        const stream = api.learning.streamInsights(cursor ? { afterCursor: cursor } : { fromBeginning: true }, { signal });
        state.textContent = "live";
        state.className = "badge ok";
        for await (const event of stream) {
          delay = 500;
          if (event.event.case === "insight") receive(event.event.value);
          else if (event.event.case === "heartbeat" && event.event.value.cursor) {
            cursor = event.event.value.cursor;
            cursorText.textContent = cursor;
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        if (needsToken(error)) {
          askToken();
          return;
        }
        state.textContent = `reconnecting (${describeError(error)})`;
        state.className = "badge warn";
      }
      if (signal.aborted) return;
      // The server ended the stream (shutdown) or it broke: resume after the last cursor.
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
      reconnects += 1;
      (root.querySelector('[data-testid="feed-reconnects"]') as HTMLElement).textContent = String(reconnects);
    }
  })();
}

function typeName(type: InsightType): string {
  return (InsightType[type] ?? "unknown").toLowerCase();
}

function insightItem(insight: Insight): HTMLElement {
  const retired = insight.status === InsightStatus.RETIRED;
  return h(
    "li",
    { class: retired ? "retired" : undefined, "data-testid": `insight-${insight.insightId}`, "data-cursor": insight.cursor },
    h(
      "div",
      { class: "insight-head" },
      h("span", { class: `badge type-${typeName(insight.type)}` }, typeName(insight.type)),
      retired ? h("span", { class: "badge" }, "retired") : null,
      insight.taskType ? h("span", { class: "muted" }, insight.taskType) : null,
    ),
    h("p", { class: "insight-text" }, insight.description),
    h(
      "p",
      { class: "muted small" },
      `confidence ${prob(insight.confidence)} (${insight.confidenceMethod}) · ${count(insight.sampleSize)} executions · updated ${when(insight.updatedAt ? timestampDate(insight.updatedAt) : undefined)}`,
    ),
  );
}
