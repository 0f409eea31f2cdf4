/** Standard normal CDF Φ(z), via erfc (W. J. Cody's rational approximation; |error| < 1.2e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.5 * Math.abs(z)) / Math.SQRT2);
  const y =
    t *
    Math.exp(
      -(z * z) / 2 -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - y / 2 : y / 2;
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed exactly in log space (n is a window size, small). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let logCoefficient = 0; // ln C(n, i), built incrementally
  let total = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logCoefficient += Math.log((n - i + 1) / i);
    if (i >= k) total += Math.exp(logCoefficient + i * Math.log(p) + (n - i) * Math.log(1 - p));
  }
  return Math.min(1, total);
}

/**
 * Φ⁻¹(p), the standard normal quantile: Abramowitz & Stegun 26.2.23 (error < 4.5e-4) polished by
 * two Newton steps on normalCdf, so intervals at any requested level are as exact as normalCdf.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const q = Math.min(p, 1 - p);
  const t = Math.sqrt(-2 * Math.log(q));
  let z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  if (p < 0.5) z = -z;
  for (let i = 0; i < 2; i++) z -= (normalCdf(z) - p) / (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI));
  return z;
}
