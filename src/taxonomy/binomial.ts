// Exact one-sided binomial confidence bounds (Clopper-Pearson), for accuracy guarantees on a finite sample.

function logChoose(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) out[i] = out[i - 1] + Math.log((n - i + 1) / i);
  return out;
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number, logC = logChoose(n)): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let total = 0;
  for (let i = k; i <= n; i++) total += Math.exp(logC[i] + i * lp + (n - i) * lq);
  return Math.min(1, total);
}

/**
 * Clopper-Pearson one-sided lower bound: the smallest p with P(X >= k | p) >= 1 - confidence,
 * so the true success rate is at least this with the given confidence (0 when k = 0).
 */
export function clopperPearsonLower(k: number, n: number, confidence = 0.95): number {
  if (n <= 0 || k <= 0) return 0;
  const alpha = 1 - confidence;
  const logC = logChoose(n);
  let lo = 0;
  let hi = k / n;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (binomialUpperTail(k, n, mid, logC) < alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}
