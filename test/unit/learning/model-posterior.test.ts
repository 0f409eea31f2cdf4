import { describe, expect, it } from "vitest";
import { modelTeamPosterior, RANKING_Z } from "../../../src/learning/model-posterior.js";

const logit = (p: number) => Math.log(p / (1 - p));
const base = { modelProbability: 0.7, recordProbability: 0.7, executions: 0, successes: 0, priorVariance: 0.04, recordWeight: 1 };

describe("modelTeamPosterior", () => {
  it("keeps the model's log-odds for a team with no record, shrunk only by the posterior mean's correction", () => {
    const p = modelTeamPosterior(base);
    expect(p.logitMean).toBeCloseTo(logit(0.7), 12);
    expect(p.logitVariance).toBeCloseTo(0.04, 12);
    expect(p.probability).toBeCloseTo(1 / (1 + Math.exp(-logit(0.7) / Math.sqrt(1 + (Math.PI * 0.04) / 8))), 12);
  });

  it("ignores the record entirely at record weight 0", () => {
    const p = modelTeamPosterior({ ...base, executions: 200, successes: 190, recordWeight: 0 });
    expect(p.logitMean).toBeCloseTo(logit(0.7), 12);
  });

  it("moves a team the model misjudges toward a long record", () => {
    const p = modelTeamPosterior({ ...base, executions: 400, successes: 372, priorVariance: 1 });
    expect(p.probability).toBeGreaterThan(0.9);
    expect(p.probability).toBeLessThan(0.94);
  });

  it("keeps the model's complexity effect: the record fixes the level at the team's mean complexity, the model moves it", () => {
    // The model says 0.8 at the team's mean complexity and 0.6 at the asked one; the record agrees with 0.8.
    const p = modelTeamPosterior({
      ...base,
      modelProbability: 0.6,
      recordProbability: 0.8,
      executions: 1000,
      successes: 800,
      priorVariance: 0.01,
    });
    expect(p.logitMean).toBeCloseTo(logit(0.6), 2);
  });

  it("follows a record far from the prior past one Newton step (the mode, not a first step)", () => {
    const p = modelTeamPosterior({
      ...base,
      modelProbability: 0.63,
      recordProbability: 0.63,
      executions: 16,
      successes: 15,
      priorVariance: 0.4,
    });
    // The exact mode solves 15 − 16 q − (L − logit 0.63) / 0.4 = 0.
    const q = 1 / (1 + Math.exp(-p.logitMean));
    expect(15 - 16 * q - (p.logitMean - logit(0.63)) / 0.4).toBeCloseTo(0, 8);
  });

  it("ranks below its mean by RANKING_Z standard deviations, and the interval holds the mean", () => {
    const p = modelTeamPosterior({ ...base, priorVariance: 0.5 });
    expect(p.rankingProbability).toBeCloseTo(1 / (1 + Math.exp(-(p.logitMean - RANKING_Z * Math.sqrt(0.5)))), 12);
    const interval = p.interval(0.9);
    expect(interval.lower).toBeLessThan(p.probability);
    expect(interval.upper).toBeGreaterThan(p.probability);
  });

  it("gives a Beta with the same mean for Thompson sampling", () => {
    const p = modelTeamPosterior({ ...base, executions: 30, successes: 20 });
    expect(p.beta.alpha / (p.beta.alpha + p.beta.beta)).toBeCloseTo(p.probability, 12);
  });

  it("blends the statistical prior by precision: a vague model defers to it, a precise one does not", () => {
    const statisticalPrior = { mean: 0.4, strength: 8 };
    const vague = modelTeamPosterior({ ...base, priorVariance: 100, statisticalPrior });
    const precise = modelTeamPosterior({ ...base, priorVariance: 1e-4, statisticalPrior });
    expect(vague.logitMean).toBeCloseTo(logit(0.4), 1);
    expect(precise.logitMean).toBeCloseTo(logit(0.7), 2);
  });
});
