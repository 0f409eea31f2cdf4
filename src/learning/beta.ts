// Beta-distribution arithmetic for success probabilities: posterior means, credible intervals and
// tail probabilities. Written out here (no statistics dependency) because the service needs only
// these few functions and must know exactly how each reported figure is computed.

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; relative error below 1e-13). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return h;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** The regularized incomplete beta I_x(a, b) = P(X ≤ x) for X ~ Beta(a, b). */
export function betaCdf(x: number, a: number, b: number, lnB: number = logBeta(a, b)): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = -lnB + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(logFront);
  // Use the continued fraction where it converges fast; the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) elsewhere.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * The p-quantile of Beta(a, b): Newton's method on the CDF from a normal-approximation start,
 * safeguarded by a bisection bracket (a step leaving the bracket bisects instead), to 1e-12. It
 * runs for every recommendation returned, so it must take microseconds, not milliseconds.
 */
export function betaQuantile(p: number, a: number, b: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lnB = logBeta(a, b);
  const mean = a / (a + b);
  const sd = Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1)));
  // Start from mean + z·sd with a rough z (Φ⁻¹ is only needed approximately here).
  const t = Math.sqrt(-2 * Math.log(Math.min(p, 1 - p)));
  const z = (p < 0.5 ? -1 : 1) * (t - (2.30753 + 0.27061 * t) / (1 + 0.99229 * t + 0.04481 * t * t));
  let lo = 0;
  let hi = 1;
  let x = Math.min(1 - 1e-9, Math.max(1e-9, mean + z * sd));
  for (let i = 0; i < 100; i++) {
    const f = betaCdf(x, a, b, lnB) - p;
    if (f < 0) lo = x;
    else hi = x;
    if (Math.abs(f) < 1e-13 || hi - lo < 1e-12) break;
    const density = Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log(1 - x) - lnB);
    const next = density > 0 ? x - f / density : Number.NaN;
    x = next > lo && next < hi ? next : (lo + hi) / 2;
  }
  return x;
}

/** A Beta posterior over a success probability. */
export interface BetaPosterior {
  alpha: number;
  beta: number;
}

/** Posterior standard deviation √(αβ / ((α + β)² (α + β + 1))). */
export function betaSd({ alpha, beta }: BetaPosterior): number {
  return Math.sqrt((alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1)));
}

/** Posterior mean α / (α + β). */
export function betaMean({ alpha, beta }: BetaPosterior): number {
  return alpha / (alpha + beta);
}

/** Central credible interval at `level` (e.g. 0.9 → 5th and 95th percentiles). */
export function betaInterval(posterior: BetaPosterior, level: number): { lower: number; upper: number; level: number } {
  const tail = (1 - level) / 2;
  return {
    lower: betaQuantile(tail, posterior.alpha, posterior.beta),
    upper: betaQuantile(1 - tail, posterior.alpha, posterior.beta),
    level,
  };
}

/** P(p > threshold) under the posterior. */
export function probabilityAbove(posterior: BetaPosterior, threshold: number): number {
  return 1 - betaCdf(threshold, posterior.alpha, posterior.beta);
}

/** Draws from Gamma(shape, 1) (Marsaglia–Tsang), with a caller-supplied uniform source for reproducibility. */
function sampleGamma(shape: number, random: () => number): number {
  if (shape < 1) return sampleGamma(shape + 1, random) * random() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Box–Muller standard normal.
      const u1 = random() || Number.MIN_VALUE;
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Draws one success probability from the posterior (Thompson sampling). */
export function sampleBeta({ alpha, beta }: BetaPosterior, random: () => number = Math.random): number {
  const x = sampleGamma(alpha, random);
  const y = sampleGamma(beta, random);
  return x / (x + y);
}
