// The label people see for a photo: the hedged synset when it is a concrete word, otherwise "not sure" with the
// best guesses (tags first, then the model's top classes) — never a vague root such as "entity" or "artifact".
import type { Categories } from '../taxonomy/categories.js';

export interface ShownLabel {
  /** The word to show: a synset name, or "not sure". */
  text: string;
  sure: boolean;
  /** The hedged synset when sure. */
  wnid: string | null;
  /** When not sure: up to three best guesses, best first. */
  guesses: string[];
}

export const NOT_SURE = 'not sure';

export function shownLabel(
  categories: Categories,
  hedged: { wnid: string; name: string } | null,
  tags: ReadonlyArray<{ name: string }>,
  labels: ReadonlyArray<{ name: string }>,
): ShownLabel {
  const node = hedged ? categories.hierarchy.node(hedged.wnid) : undefined;
  if (hedged && node !== undefined && !categories.abstract.has(node)) return { text: hedged.name, sure: true, wnid: hedged.wnid, guesses: [] };
  const guesses = [...tags.map((t) => t.name), ...labels.map((l) => l.name)];
  return { text: NOT_SURE, sure: false, wnid: null, guesses: [...new Set(guesses)].slice(0, 3) };
}
