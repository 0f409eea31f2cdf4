import type { PairFailure, TaskTypeTeams } from "../../../gen/agentlearning/v1/report_service_pb.js";
import type { Api } from "../api.js";
import { count, h, interval, notice, percent, prob, seconds, section, table } from "../dom.js";

/** Agents on each axis of the heat map at most: those in the most executed pairs. */
const HEAT_MAP_AGENTS = 14;

/** Teams per task type: a leaderboard with posterior intervals, and failing pairs as a heat map. */
export async function teamsPage(root: HTMLElement, api: Api, signal: AbortSignal): Promise<void> {
  const report = await api.reports.getTeamReport({ maxTeams: 10 }, { signal });
  if (report.taskTypes.length === 0) {
    root.append(notice("Nothing recorded yet."));
    return;
  }
  const chooser = h(
    "select",
    { id: "task-type", "aria-label": "Task type" },
    report.taskTypes.map((t) => h("option", { value: t.taskType }, `${t.taskType} (${count(t.executionCount)} runs)`)),
  );
  const body = h("div", {});
  const show = () => {
    const entry = report.taskTypes.find((t) => t.taskType === chooser.value) ?? report.taskTypes[0]!;
    body.replaceChildren(leaderboard(entry), heatMap(entry));
  };
  chooser.addEventListener("change", show);
  root.append(h("p", { class: "lead" }, h("label", { for: "task-type" }, "Task type "), chooser));
  root.append(body);
  show();
}

function leaderboard(entry: TaskTypeTeams): HTMLElement {
  const rows = entry.teams.map((team, i) => {
    const bar = h(
      "span",
      { class: "interval-bar", "aria-hidden": "true" },
      h("span", { class: "interval-range" }),
      h("span", { class: "interval-mean" }),
    );
    const [range, mean] = [bar.children[0] as HTMLElement, bar.children[1] as HTMLElement];
    range.style.left = `${(team.successInterval?.lower ?? 0) * 100}%`;
    range.style.width = `${((team.successInterval?.upper ?? 0) - (team.successInterval?.lower ?? 0)) * 100}%`;
    mean.style.left = `${team.posteriorMean * 100}%`;
    return [
      String(i + 1),
      team.agents.join(" + "),
      count(team.executionCount),
      count(team.successCount),
      prob(team.posteriorMean),
      h("span", {}, interval(team.successInterval), bar),
      seconds(team.medianDurationSeconds),
      seconds(team.p90DurationSeconds),
    ];
  });
  return section(
    `Leaderboard: ${entry.taskType}`,
    h(
      "p",
      {},
      `Task type success rate ${percent(entry.successRate)} over ${count(entry.executionCount)} runs. Teams ranked by the posterior mean of their success rate, (1 + s) / (2 + n), with its 90% credible interval; durations from a log-normal fit.`,
    ),
    table(`Best teams for ${entry.taskType}`, ["#", "team", "runs", "successes", "posterior mean", "90% interval", "median", "p90"], rows, {
      "data-testid": "leaderboard",
    }),
  );
}

function heatMap(entry: TaskTypeTeams): HTMLElement {
  const card = section(`Failing pairs: ${entry.taskType}`);
  if (entry.pairs.length === 0) {
    card.append(h("p", {}, "No team of two or more agents yet."));
    return card;
  }
  // Axes: the agents of the most executed pairs, so the map stays readable.
  const weight = new Map<string, number>();
  for (const p of entry.pairs) for (const a of [p.agentA, p.agentB]) weight.set(a, (weight.get(a) ?? 0) + Number(p.executionCount));
  const agents = [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, HEAT_MAP_AGENTS)
    .map(([a]) => a)
    .sort();
  const byPair = new Map(entry.pairs.map((p) => [`${p.agentA}|${p.agentB}`, p]));
  const lookup = (a: string, b: string): PairFailure | undefined => byPair.get(a < b ? `${a}|${b}` : `${b}|${a}`);
  const grid = h(
    "table",
    { class: "heat-map", "data-testid": "heat-map" },
    h("caption", {}, "Failure rate of the teams holding each pair; hover or focus a cell for its dominant error"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("td", {}),
        agents.map((a) => h("th", { scope: "col" }, h("span", {}, a))),
      ),
    ),
    h(
      "tbody",
      {},
      agents.map((row) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, row),
          agents.map((col) => {
            const pair = row === col ? undefined : lookup(row, col);
            if (!pair) return h("td", { class: "empty" });
            const label = `${pair.agentA} + ${pair.agentB}: ${percent(pair.failureRate)} of ${count(pair.executionCount)} failed${pair.dominantError ? `; mostly "${pair.dominantError}" (${count(pair.dominantErrorCount)})` : ""}`;
            const td = h("td", { title: label, "aria-label": label, tabindex: 0 }, `${Math.round(pair.failureRate * 100)}`);
            // Hue from the failure rate: the colour scale itself is in the style sheet's variables.
            td.style.setProperty("--rate", pair.failureRate.toFixed(3));
            return td;
          }),
        ),
      ),
    ),
  );
  const worst = entry.pairs
    .filter((p) => p.failureCount > 0n)
    .slice(0, 5)
    .map((p) => [
      `${p.agentA} + ${p.agentB}`,
      count(p.executionCount),
      percent(p.failureRate),
      p.dominantError || "—",
      count(p.dominantErrorCount),
    ]);
  card.append(
    h("p", {}, `Cells: per cent of runs that failed among teams holding both agents (task type: ${percent(1 - entry.successRate)}).`),
    h("div", { class: "table-wrap" }, grid),
    table("Worst pairs and their dominant error", ["pair", "runs", "failed", "dominant error", "times"], worst, {
      "data-testid": "worst-pairs",
    }),
  );
  return card;
}
