// Label sets: a model's outputs in order, each mapped to a WordNet synset (imagenet-1k, or custom names/wnids).
import { readFileSync } from 'node:fs';
import { projectDataFile } from '../config/paths.js';
import type { WordNet } from './wordnet.js';

export interface LabelSet {
  id: string;
  /** One wnid per model output, in output order. */
  wnids: string[];
  /** Display name per output (the label set's own names, underscores as spaces). */
  names: string[];
}

/** Parses a TSV with a header naming (at least) `wnid` and optionally `name` columns. */
export function parseLabelTsv(id: string, text: string): LabelSet {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  const header = lines[0].split('\t');
  const wnidCol = header.indexOf('wnid');
  const nameCol = header.indexOf('name');
  if (wnidCol < 0) throw new Error(`label set ${id}: no 'wnid' column`);
  const rows = lines.slice(1).map((l) => l.split('\t'));
  return {
    id,
    wnids: rows.map((r) => r[wnidCol]),
    names: rows.map((r) => (nameCol >= 0 ? r[nameCol] : r[wnidCol]).replace(/_/g, ' ')),
  };
}

const builtIn: Record<string, string> = { 'imagenet-1k': 'imagenet-1k-classes.tsv' };

/** A built-in label set by id (`imagenet-1k`: the 1000 ImageNet classes in sorted-wnid order). */
export function loadLabelSet(id = 'imagenet-1k'): LabelSet {
  const file = builtIn[id];
  if (!file) throw new Error(`unknown label set '${id}' (known: ${Object.keys(builtIn).join(', ')})`);
  return parseLabelTsv(id, readFileSync(projectDataFile(file), 'utf8'));
}

/** One entry of a custom label set: a word ("dog", "traffic light"), a wnid, or both. */
export type LabelSpec = string | { name: string; wnid?: string };

/**
 * Maps a custom label set (e.g. COCO names or a user's concepts) onto synsets: explicit wnids are
 * kept, words take their most frequent noun sense. Throws listing every label it could not map.
 */
export function mapLabelSet(wordnet: WordNet, id: string, specs: LabelSpec[]): LabelSet {
  const wnids: string[] = [];
  const names: string[] = [];
  const missing: string[] = [];
  for (const spec of specs) {
    const { name, wnid } = typeof spec === 'string' ? (/^n\d{8}$/.test(spec) ? { name: '', wnid: spec } : { name: spec }) : spec;
    let found: string | undefined;
    if (wnid) found = wordnet.has(wnid) ? wnid : undefined;
    else {
      const senses = wordnet.lookup(name);
      found = senses.length > 0 ? wordnet.wnid(senses[0]) : undefined;
    }
    if (!found) { missing.push(wnid ?? name); continue; }
    wnids.push(found);
    names.push(name || wordnet.name(wordnet.indexOf(found)!));
  }
  if (missing.length > 0) throw new Error(`label set ${id}: no WordNet noun for ${missing.map((m) => `'${m}'`).join(', ')}`);
  return { id, wnids, names };
}
