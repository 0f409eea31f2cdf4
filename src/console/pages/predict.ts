import { EstimateSource } from "../../../gen/agentlearning/v1/learning_pb.js";
import type { PredictAgentsResponse } from "../../../gen/agentlearning/v1/learning_service_pb.js";
import { type Api, describeError, needsToken } from "../api.js";
import { count, h, interval, notice, percent, prob, seconds, section, table } from "../dom.js";
import { modeName } from "./overview.js";

/** Predict: a form that calls PredictAgents and shows the ranked teams with intervals and rationale. */
export async function predictPage(root: HTMLElement, api: Api, signal: AbortSignal, askToken: () => void): Promise<void> {
  const dashboard = await api.admin.getDashboard({ trendPoints: 2, recentInsights: 1 }, { signal });
  const taskTypes = dashboard.trends.map((t) => t.taskType);
  const field = (label: string, input: HTMLElement, hint?: string) =>
    h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("small", { class: "muted" }, hint) : null);
  const taskType = h("input", {
    id: "p-task-type",
    name: "taskType",
    list: "p-task-types",
    required: true,
    value: taskTypes[0] ?? "",
    autocomplete: "off",
  });
  const complexity = h("input", {
    id: "p-complexity",
    name: "complexity",
    type: "number",
    min: 0,
    max: 10,
    step: 0.1,
    value: 2,
    required: true,
  });
  const max = h("input", { id: "p-max", name: "max", type: "number", min: 1, max: 20, step: 1, value: 3 });
  const required = h("input", { id: "p-required", name: "required", placeholder: "ARCHITECT, TESTBED", autocomplete: "off" });
  const excluded = h("input", { id: "p-excluded", name: "excluded", autocomplete: "off" });
  const submit = h("button", { type: "submit" }, "Recommend teams");
  const form = h(
    "form",
    { class: "predict-form", "data-testid": "predict-form" },
    h(
      "datalist",
      { id: "p-task-types" },
      taskTypes.map((t) => h("option", { value: t })),
    ),
    field("Task type", taskType),
    field("Complexity (0–10)", complexity),
    field("Recommendations", max),
    field("Required agents", required, "comma-separated"),
    field("Excluded agents", excluded, "comma-separated"),
    h("div", { class: "field" }, submit),
  );
  const result = h("div", { "data-testid": "predict-result", "aria-live": "polite" });
  root.append(
    section(
      "Ask for a team",
      h(
        "p",
        { class: "muted" },
        "Calls PredictAgents (needs the predict scope when tokens are on). Each answer is logged with its propensity like any other.",
      ),
      form,
    ),
    result,
  );
  const agents = (input: HTMLInputElement) =>
    input.value
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((a) => a.toUpperCase());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    result.replaceChildren(notice("Asking…"));
    api.learning
      .predictAgents(
        {
          taskType: taskType.value.trim(),
          complexity: complexity.valueAsNumber,
          maxRecommendations: max.valueAsNumber || 0,
          requiredAgents: agents(required),
          excludedAgents: agents(excluded),
        },
        { signal },
      )
      .then((answer) => result.replaceChildren(answerView(answer)))
      .catch((error: unknown) => {
        if (needsToken(error)) askToken();
        else result.replaceChildren(notice(describeError(error), "error"));
      })
      .finally(() => (submit.disabled = false));
  });
}

function sourceName(source: EstimateSource, version: string): HTMLElement {
  // Versions are long: the name is in the cell's tooltip and the answer's explanation.
  if (source === EstimateSource.MODEL) return h("abbr", { title: version }, "model");
  return h("span", {}, (EstimateSource[source] ?? "unknown").toLowerCase());
}

function answerView(answer: PredictAgentsResponse): HTMLElement {
  const facts = `Mode ${modeName(answer.mode)}; ${answer.applied ? "the service's own choice" : "not applied (the caller's team is returned)"}${answer.coldStart ? "; cold start: from the catalog" : ""}.`;
  if (answer.recommendations.length === 0) return section("Answer", h("p", {}, facts), notice(answer.explanation || "No recommendation."));
  return section(
    "Answer",
    h("p", {}, facts, answer.explanation ? ` ${answer.explanation}` : ""),
    table(
      "Ranked teams, best first",
      ["#", "team", "p(success)", "90% interval", "expected duration", "duration 90%", "confidence", "propensity", "source", "runs"],
      answer.recommendations.map((r, i) => [
        String(i + 1),
        h("span", { "data-testid": "recommended-team" }, r.agents.join(" + ")),
        prob(r.successProbability),
        interval(r.successInterval),
        seconds(r.expectedDurationSeconds),
        r.durationInterval ? `${seconds(r.durationInterval.lower)} – ${seconds(r.durationInterval.upper)}` : "—",
        percent(r.confidence),
        `${prob(r.propensity)}${r.exploratory ? " (exploring)" : ""}`,
        sourceName(r.source, r.modelVersion),
        count(r.sampleSize),
      ]),
      { "data-testid": "recommendations" },
    ),
    h("h3", {}, "Why"),
    h(
      "ol",
      { class: "rationale" },
      answer.recommendations.map((r) => h("li", {}, h("strong", {}, r.agents.join(" + ")), `: ${r.rationale}`)),
    ),
  );
}
