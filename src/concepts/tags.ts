// A photo's tags: every concept of the loaded heads (everyday, then an owner's custom ones) whose score reaches
// its calibrated threshold, best first.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pictographHome } from '../config/paths.js';
import { Head, readHead, type ModelId } from './head.js';
import { chooseSubject, type SubjectChoice } from './subject.js';
import { everydayHeadPath } from './train-everyday.js';

/** One tag as `classify --json` and the API print it. */
export interface ConceptTag {
  /** Everyday id ("beach") or "OWNER/NAME" for a custom concept. */
  id: string;
  name: string;
  score: number;
  /** The WordNet synset the concept attaches under. */
  wnid: string;
  threshold: number;
}

/**
 * Scores of every concept of `heads` for one embedding; `all` keeps those under threshold too. Sorted by
 * score, best first. A head of another model throws HeadError('wrong_model').
 */
export function tagEmbedding(heads: readonly Head[], embedding: Float32Array, model: ModelId, opts: { all?: boolean } = {}): ConceptTag[] {
  const out: ConceptTag[] = [];
  for (const head of heads) {
    const scores = head.score(embedding, model);
    head.concepts.forEach((c, j) => {
      if (opts.all || scores[j] >= c.threshold) {
        out.push({ id: c.id, name: c.name, score: Math.round(scores[j] * 1e4) / 1e4, wnid: c.wnid, threshold: c.threshold });
      }
    });
  }
  return out.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

const everyday = new Map<string, Promise<Head | null>>();

/** Where `concepts retrain --everyday` writes the everyday head retrained with people's feedback. */
export function retrainedEverydayHeadPath(modelId: string, env: NodeJS.ProcessEnv = process.env): string {
  return everydayHeadPath(modelId, join(pictographHome(env), 'heads'));
}

/**
 * The everyday head of a model: the one retrained with feedback ($PICTOGRAPH_HOME/heads/everyday-<id>.json) when
 * there is one, else the shipped one (data/heads/everyday-<id>.json); null when none was trained for it.
 */
export function loadEverydayHead(model: ModelId, env: NodeJS.ProcessEnv = process.env): Promise<Head | null> {
  const retrained = retrainedEverydayHeadPath(model.id, env);
  const key = `${model.id}#${model.sha256}#${retrained}`;
  let p = everyday.get(key);
  if (!p) {
    const path = existsSync(retrained) ? retrained : everydayHeadPath(model.id);
    p = existsSync(path)
      ? readHead(path).then((h) => (h.model.sha256 === model.sha256 ? h : null))
      : Promise.resolve(null);
    everyday.set(key, p);
    p.catch(() => everyday.delete(key));
  }
  return p;
}

/**
 * The photo's consumer category (subject) from an everyday head with a subject head (see `chooseSubject`); null
 * when the head has none. `peopleDetected`: whether detection found people (undefined when it did not run).
 */
export function photoSubject(head: Head | null | undefined, embedding: Float32Array, model: ModelId, peopleDetected?: boolean): SubjectChoice | null {
  const probs = head?.subjectScores(embedding, model);
  if (!head?.subjects || !probs) return null;
  const choice = chooseSubject(head.subjects.ids, probs, head.concepts, head.score(embedding, model), peopleDetected);
  return { id: choice.id, score: Math.round(choice.score * 1e4) / 1e4 };
}
