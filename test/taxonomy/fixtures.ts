// Shared fixtures for the taxonomy tests: one throwaway home with the compiled WordNet, the imagenet-1k hierarchy.
import { after } from 'node:test';
import { tempHome } from '../support/env.js';
import { loadHierarchy } from '../../src/taxonomy/load.js';
import type { Hierarchy } from '../../src/taxonomy/hierarchy.js';

const home = tempHome('pictograph-taxonomy-');
after(() => home.cleanup());

export const env = home.env;
export const homeDir = home.home;

/** The imagenet-1k hierarchy (WordNet compiled into this file's temp home on first use). */
export function hierarchy(): Promise<Hierarchy> {
  return loadHierarchy('imagenet-1k', { env });
}

/** A probability vector over the labels from sparse (label, weight) pairs plus a small uniform floor. */
export function probsFrom(pairs: Array<[number, number]>, labels = 1000, floor = 0): Float32Array {
  const p = new Float64Array(labels).fill(floor);
  for (const [l, w] of pairs) p[l % labels] += w;
  let total = 0;
  for (const v of p) total += v;
  if (total === 0) { p.fill(1); total = labels; }
  return Float32Array.from(p, (v) => v / total);
}
