// Quantiles of a duration model's held-out residuals (observed − predicted ln(1 + seconds)),
// stored with the model as metrics `residual_qNN`, NN the level in percent. They are its
// predictive distribution: the 5% and 95% give the 90% duration interval, and all of them the
// probability of finishing within a deadline (see src/learning/deadline.ts).

/** The levels stored: the deciles, and 5% and 95% for the 90% interval. */
export const RESIDUAL_QUANTILE_LEVELS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95] as const;

const metricName = (level: number) => `residual_q${String(Math.round(level * 100)).padStart(2, "0")}`;

/** The residual quantiles of sorted residuals (nearest rank), as metrics. */
export function residualQuantileMetrics(sorted: Float64Array): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const level of RESIDUAL_QUANTILE_LEVELS) {
    const i = Math.min(sorted.length - 1, Math.max(0, Math.round(level * (sorted.length - 1))));
    metrics[metricName(level)] = sorted.length === 0 ? 0 : sorted[i]!;
  }
  return metrics;
}

/** The residual quantiles a model's metrics hold (any `residual_qNN`), increasing in level. */
export function residualQuantilesOf(metrics: Readonly<Record<string, number>>): { p: number; value: number }[] {
  return Object.entries(metrics)
    .flatMap(([name, value]) => {
      const match = /^residual_q(\d\d)$/.exec(name);
      return match ? [{ p: Number(match[1]) / 100, value }] : [];
    })
    .sort((a, b) => a.p - b.p);
}
