// Taxonomy benchmark: WordNet load time (cold compile / warm cache), hierarchy build, scoreNodes and hedge per prediction.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWordNet } from '../src/taxonomy/wordnet-store.js';
import { loadLabelSet } from '../src/taxonomy/label-set.js';
import { Hierarchy } from '../src/taxonomy/hierarchy.js';
import { scoreNodes } from '../src/taxonomy/score.js';
import { hedge } from '../src/taxonomy/hedge.js';

/** Deterministic peaked probability vectors (softmax of scaled pseudo-random logits), like a CNN's. */
function samplePredictions(count: number, labels: number): Float32Array[] {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () => {
    const logits = Float64Array.from({ length: labels }, () => -Math.log(-Math.log(rand() + 1e-12) + 1e-12) * 2.5);
    const max = Math.max(...logits);
    let total = 0;
    const p = logits.map((v) => { const e = Math.exp(v - max); total += e; return e; });
    return Float32Array.from(p, (v) => v / total);
  });
}

export async function benchTaxonomy(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-taxonomy-'));
  try {
    const env = { ...process.env, PICTOGRAPH_HOME: home };
    let t = performance.now();
    await loadWordNet({ env, fresh: true });
    const coldMs = performance.now() - t;
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      t = performance.now();
      await loadWordNet({ env, fresh: true });
      warm.push(performance.now() - t);
    }
    const wn = await loadWordNet({ env, fresh: true });
    t = performance.now();
    const h = new Hierarchy(wn, loadLabelSet('imagenet-1k'));
    const hierarchyMs = performance.now() - t;

    const preds = samplePredictions(500, h.labelCount);
    const out = new Float32Array(h.size);
    const time = (rounds: number, fn: (p: Float32Array) => void) => {
      for (const p of preds.slice(0, 50)) fn(p); // warm-up
      const start = performance.now();
      for (let r = 0; r < rounds; r++) for (const p of preds) fn(p);
      return ((performance.now() - start) * 1000) / (rounds * preds.length);
    };
    const sumUs = time(10, (p) => scoreNodes(h, p, 'sum', out));
    const meanUs = time(10, (p) => scoreNodes(h, p, 'mean', out));
    const hedgeUs = time(10, (p) => hedge(h, scoreNodes(h, p, 'sum', out).values, 4));
    warm.sort((a, b) => a - b);
    return {
      wordnet_synsets: wn.size,
      hierarchy_nodes: h.size,
      load_cold_ms: coldMs,
      load_warm_ms_median: warm[2],
      hierarchy_build_ms: hierarchyMs,
      score_sum_us_per_prediction: sumUs,
      score_mean_us_per_prediction: meanUs,
      hedge_us_per_prediction: hedgeUs,
      hedge_only_us_per_prediction: hedgeUs - sumUs,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchTaxonomy());
