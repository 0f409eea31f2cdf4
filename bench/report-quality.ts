// The report's table for the learning-quality section.
import type { QualityFigures } from "./learning-quality.js";
import { formatNumber } from "./stats.js";
import { table } from "./table.js";

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "" : x.toFixed(3));

/** Section "quality": accuracy against the truth and greedy regret, statistics vs model, per history size. */
export function renderQuality(q: QualityFigures): string {
  const p = q.plan;
  const out = [
    `Learning quality against the simulator's truth: per size a fresh server records the history (${Math.round(p.mix.rareShare * 100)}% rarely seen teams), ` +
      `scores ${formatNumber(p.testRows, 0)} unseen executions with PredictOutcome and takes greedy picks (${p.complexities.length} complexities × every task type) before Retrain (statistics) and after (model)`,
  ];
  const rows = q.sizes.flatMap((s) =>
    [["statistics", s.statistical] as const, ["model", s.model] as const].map(([name, x]) => [
      name === "statistics" ? formatNumber(s.executions, 0) : "",
      name,
      x ? f3(x.predictions.auc) : (s.noModel ?? "no model"),
      x ? f3(x.predictions.truthAuc) : "",
      x ? f3(x.predictions.meanAbsError) : "",
      x ? f3(x.predictions.durationLogError) : "",
      x ? f3(x.regret.mean) : "",
      x ? f3(x.regret.worst) : "",
      name === "model" ? `${s.retrainSeconds.toFixed(1)} s` : "",
      name === "model" && s.trees ? `${s.trees.success} / ${s.trees.duration}` : "",
    ]),
  );
  out.push(
    table(
      [
        "executions",
        "answers from",
        "success AUC",
        "truth's AUC",
        "|p − p_true|",
        "duration |Δ ln|",
        "regret mean",
        "regret worst",
        "Retrain",
        "trees succ/dur",
      ],
      rows,
    ),
  );
  if (q.follower) {
    const fl = q.follower;
    out.push(
      `Follower loop: ${formatNumber(p.follower.habits, 0)} executions of habits (true success ${f3(fl.habitSuccess)}), then ${formatNumber(p.follower.tasks, 0)} tasks each running PredictAgents' first team (default mode and exploration, automatic retraining), outcomes credited`,
    );
    out.push(
      table(
        ["tasks", "true success", "best possible", "gap", "predicted", "exploratory", "model-scored"],
        fl.windows.map((w, i) => [
          `${formatNumber(i * p.follower.window + 1, 0)}–${formatNumber(i * p.follower.window + w.tasks, 0)}`,
          f3(w.trueSuccess),
          f3(w.bestPossible),
          f3(w.gap),
          f3(w.predicted),
          `${(w.exploratory * 100).toFixed(1)}%`,
          `${(w.modelScored * 100).toFixed(0)}%`,
        ]),
      ),
    );
  }
  out.push(
    "AUC and |p − p_true| on the same unseen executions; the truth's AUC is the best any predictor could reach on them. Regret = P_true(best team) − P_true(the first team answered). Retrain = the RPC's wall time (data read, both models, gate, ONNX export).",
  );
  return out.join("\n");
}
