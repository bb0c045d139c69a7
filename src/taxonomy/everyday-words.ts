// Everyday search words ("beach", "people", "street") mapped to synsets the model can recognise: an editable data
// file consulted before WordNet's lemmas, where WordNet's first sense or nearest hypernym would mislead.
import { readFileSync } from 'node:fs';
import { projectDataFile } from '../config/paths.js';

/** word (lower case) -> synsets; an empty list = a known word the model has no concept for. */
export type EverydayWords = ReadonlyMap<string, readonly string[]>;

export function readEverydayWords(path = projectDataFile('everyday-words.json')): EverydayWords {
  const file = JSON.parse(readFileSync(path, 'utf8')) as { words?: Record<string, unknown> };
  const out = new Map<string, string[]>();
  for (const [word, wnids] of Object.entries(file.words ?? {})) {
    if (!Array.isArray(wnids) || !wnids.every((w) => typeof w === 'string' && /^n\d{8}$/.test(w))) {
      throw new Error(`${path}: '${word}' must map to a list of noun wnids like "n09428293"`);
    }
    out.set(word.trim().toLowerCase(), wnids as string[]);
  }
  return out;
}
