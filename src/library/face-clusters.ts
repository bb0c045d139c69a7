// Incremental face clustering, pure: a new face joins the person whose closest faces it resembles most (the mean
// cosine of its top-k nearest member faces), when that beats a threshold; otherwise it starts a new person.
// The owner's corrections steer it: faces the owner placed count as members like any other, a face is never
// put back into a person it was taken out of, and named people attract faces with a slightly lower bar.

export interface ClusterRules {
  /** Mean cosine similarity to a person's nearest faces needed to join them. */
  threshold: number;
  /** Lower bar for people the owner named (they have been confirmed). */
  namedBonus: number;
  /** Nearest member faces averaged. */
  k: number;
}

/** Measured on the labelled identity set (bench section `people`). */
export const CLUSTER_RULES: ClusterRules = { threshold: 0.65, namedBonus: 0.03, k: 3 };

export interface PersonFaces {
  personId: number;
  named: boolean;
  embeddings: Float32Array[];
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/** Mean of the k largest cosine similarities (embeddings are unit length) between `e` and a person's faces. */
export function similarityToPerson(e: Float32Array, faces: Float32Array[], k: number): number {
  if (faces.length === 0) return -1;
  const sims = faces.map((f) => dot(e, f)).sort((a, b) => b - a);
  const top = sims.slice(0, Math.max(1, k));
  return top.reduce((s, x) => s + x, 0) / top.length;
}

/** The person a face belongs to, or null for a new person. `rejected`: people this face must not join. */
export function choosePerson(e: Float32Array, people: Iterable<PersonFaces>, rejected: ReadonlySet<number> = new Set(), rules: ClusterRules = CLUSTER_RULES): number | null {
  let best: number | null = null;
  let bestMargin = 0;
  for (const p of people) {
    if (rejected.has(p.personId) || p.embeddings.length === 0) continue;
    const sim = similarityToPerson(e, p.embeddings, rules.k);
    const margin = sim - (rules.threshold - (p.named ? rules.namedBonus : 0));
    if (margin >= 0 && (best === null || margin > bestMargin)) {
      best = p.personId;
      bestMargin = margin;
    }
  }
  return best;
}

/**
 * Clusters faces one after another (the order they arrive in), starting from existing people; returns the person
 * of each face, new people numbered from -1 downwards (the caller creates them).
 */
export function clusterIncrementally(
  faces: Array<{ faceId: number; embedding: Float32Array; rejected?: ReadonlySet<number> }>,
  people: PersonFaces[],
  rules: ClusterRules = CLUSTER_RULES,
): Map<number, number> {
  const byId = new Map(people.map((p) => [p.personId, { ...p, embeddings: [...p.embeddings] }]));
  const out = new Map<number, number>();
  let nextNew = -1;
  for (const f of faces) {
    let id = choosePerson(f.embedding, byId.values(), f.rejected, rules);
    if (id === null) {
      id = nextNew--;
      byId.set(id, { personId: id, named: false, embeddings: [] });
    }
    byId.get(id)!.embeddings.push(f.embedding);
    out.set(f.faceId, id);
  }
  return out;
}

/** Pairwise precision and recall of a clustering against true identities (pairs of faces in the same group). */
export function pairwiseScores(predicted: ReadonlyArray<number>, truth: ReadonlyArray<string>): { precision: number; recall: number; pairs: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predicted.length; i++) {
    for (let j = i + 1; j < predicted.length; j++) {
      const same = predicted[i] === predicted[j];
      const truthSame = truth[i] === truth[j];
      if (same && truthSame) tp++;
      else if (same) fp++;
      else if (truthSame) fn++;
    }
  }
  return { precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn), pairs: tp + fp + fn };
}
