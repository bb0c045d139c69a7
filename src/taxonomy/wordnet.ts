// The WordNet 3.0 noun graph in a compact, serialisable form: synsets by index, lemma lookup, parents and children.
import { offsetOf, wnidOf, type SynsetRecord } from './wordnet-parse.js';

/** A noun synset as the rest of the product sees it. */
export interface Synset {
  wnid: string;
  /** Lemmas with spaces (WordNet's underscores replaced), in the synset's order. */
  lemmas: string[];
  /** First lemma: the synset's everyday name. */
  name: string;
  gloss: string;
  /** wnids of `@` hypernyms, primary first. */
  hypernyms: string[];
  /** wnids of `@i` instance hypernyms. */
  instanceHypernyms: string[];
}

/** The JSON form cached on disk; columns indexed by synset index (synsets sorted by offset). */
export interface WordNetData {
  format: number;
  source: string;
  offsets: number[];
  /** Lemmas per synset joined with ' ' (WordNet lemmas never contain spaces), synsets joined with '\n'. */
  lemmas: string;
  /** Glosses joined with '\n' (read through line offsets). Stored beside the JSON rather than in it (see GlossReader). */
  glosses: string;
  /** CSR adjacency of `@` hypernyms (synset indexes): row i is hyperList[hyperStart[i] .. hyperStart[i+1]). */
  hyperStart: number[];
  hyperList: number[];
  instStart: number[];
  instList: number[];
  /** Lines 'lemma i,j,...' (lower case, underscores; synset indexes in sense order), parsed on first lookup. */
  index: string;
  /** Irregular plural -> base forms (noun.exc). */
  exceptions: Record<string, string[]>;
}

export const WORDNET_FORMAT = 3;

/**
 * Where a WordNet reads its glosses when they are not in memory: the 6 MB of them are shown only on concept pages
 * and in word search, so a loaded WordNet leaves them in their file and reads the few it is asked for.
 */
export interface GlossReader {
  gloss(i: number): string;
}

/** Builds the compact form from parsed records. */
export function compileWordNet(
  records: SynsetRecord[],
  index: Map<string, number[]>,
  exceptions: Map<string, string[]>,
  source: string,
): WordNetData {
  const sorted = [...records].sort((a, b) => a.offset - b.offset);
  const at = new Map<number, number>();
  sorted.forEach((r, i) => at.set(r.offset, i));
  const hyperStart = [0];
  const hyperList: number[] = [];
  const instStart = [0];
  const instList: number[] = [];
  for (const r of sorted) {
    for (const o of r.hypernyms) if (at.has(o)) hyperList.push(at.get(o)!);
    hyperStart.push(hyperList.length);
    for (const o of r.instanceHypernyms) if (at.has(o)) instList.push(at.get(o)!);
    instStart.push(instList.length);
  }
  const lemmaIndex: string[] = [];
  for (const [lemma, offsets] of index) {
    const idx = offsets.map((o) => at.get(o)).filter((i): i is number => i !== undefined);
    if (idx.length > 0) lemmaIndex.push(`${lemma} ${idx.join(',')}`);
  }
  return {
    format: WORDNET_FORMAT,
    source,
    offsets: sorted.map((r) => r.offset),
    lemmas: sorted.map((r) => r.lemmas.join(' ')).join('\n'),
    glosses: sorted.map((r) => r.gloss.replace(/\n/g, ' ')).join('\n'),
    hyperStart,
    hyperList,
    instStart,
    instList,
    index: lemmaIndex.join('\n'),
    exceptions: Object.fromEntries(exceptions),
  };
}

/** Normalises a word for lemma lookup: trimmed, lower case, spaces and hyphen-runs as WordNet writes them. */
export function normaliseLemma(word: string): string {
  return word.trim().toLowerCase().replace(/\s+/g, '_');
}

/** Start of each '\n'-separated line of `text`, plus one past the end (so line i is [at[i], at[i + 1] - 1)). */
function lineStarts(text: string): Int32Array {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  const at = new Int32Array(n + 1);
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) at[line++] = i + 1;
  at[n] = text.length + 1;
  return at;
}

/** One lemma of the noun index: the lemma (lower case, underscores) and its synset indexes in sense order. */
export interface LemmaEntry {
  lemma: string;
  synsets: number[];
}

/**
 * Read-only view over WordNetData with lookups by wnid and by word. Kept compact, since every server and worker
 * holds one: the joined strings stay whole and are read through line offsets (typed arrays), not split into
 * ~80,000 strings each, and the lemma index is searched in place (sorted lines), not turned into a Map.
 */
export class WordNet {
  readonly size: number;
  private readonly offsets: Int32Array;
  private readonly hyperStart: Int32Array;
  private readonly hyperList: Int32Array;
  private readonly instStart: Int32Array;
  private readonly instList: Int32Array;
  private readonly lemmaText: string;
  private readonly lemmaAt: Int32Array;
  private readonly glossText: string;
  private glossAt?: Int32Array;
  private readonly glossReader?: GlossReader;
  private indexText: string;
  private indexAt?: Int32Array;
  private readonly exceptions: Record<string, string[]>;
  private childStart?: Int32Array;
  private childList?: Int32Array;

  /** `glossReader`: where the glosses are read instead of `data.glosses` (then left empty). */
  constructor(data: WordNetData, glossReader?: GlossReader) {
    this.size = data.offsets.length;
    this.offsets = Int32Array.from(data.offsets);
    this.hyperStart = Int32Array.from(data.hyperStart);
    this.hyperList = Int32Array.from(data.hyperList);
    this.instStart = Int32Array.from(data.instStart);
    this.instList = Int32Array.from(data.instList);
    this.lemmaText = data.lemmas;
    this.lemmaAt = lineStarts(data.lemmas);
    this.glossText = data.glosses;
    this.glossReader = glossReader;
    this.indexText = data.index;
    this.exceptions = data.exceptions;
  }

  /** Synset index of a wnid, or undefined. */
  indexOf(wnid: string): number | undefined {
    const offset = offsetOf(wnid);
    if (offset === undefined) return undefined;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.offsets[mid];
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  has(wnid: string): boolean {
    return this.indexOf(wnid) !== undefined;
  }

  wnid(i: number): string {
    return wnidOf(this.offsets[i]);
  }

  lemmas(i: number): string[] {
    return this.lemmaRow(i).split(' ').map((l) => l.replace(/_/g, ' '));
  }

  name(i: number): string {
    const raw = this.lemmaRow(i);
    const space = raw.indexOf(' ');
    return (space < 0 ? raw : raw.slice(0, space)).replace(/_/g, ' ');
  }

  gloss(i: number): string {
    if (this.glossReader) return this.glossReader.gloss(i);
    const at = (this.glossAt ??= lineStarts(this.glossText));
    return this.glossText.slice(at[i], at[i + 1] - 1);
  }

  /** `@` hypernym indexes, primary first. */
  hypernyms(i: number): number[] {
    return Array.from(this.hyperList.subarray(this.hyperStart[i], this.hyperStart[i + 1]));
  }

  instanceHypernyms(i: number): number[] {
    return Array.from(this.instList.subarray(this.instStart[i], this.instStart[i + 1]));
  }

  /** All parents in the DAG: hypernyms then instance hypernyms. */
  parents(i: number): number[] {
    return [...this.hypernyms(i), ...this.instanceHypernyms(i)];
  }

  /** Hyponyms and instances of a synset (computed once for the whole graph on first use). */
  children(i: number): number[] {
    if (!this.childStart || !this.childList) this.buildChildren();
    return Array.from(this.childList!.subarray(this.childStart![i], this.childStart![i + 1]));
  }

  /** The synset as a plain object. */
  synset(i: number): Synset {
    return {
      wnid: this.wnid(i),
      lemmas: this.lemmas(i),
      name: this.name(i),
      gloss: this.gloss(i),
      hypernyms: this.hypernyms(i).map((h) => this.wnid(h)),
      instanceHypernyms: this.instanceHypernyms(i).map((h) => this.wnid(h)),
    };
  }

  /**
   * Synset indexes for a word, most frequent sense first. Tries the word as written, then WordNet's
   * irregular plurals (noun.exc), then regular plural endings.
   */
  lookup(word: string): number[] {
    const lemma = normaliseLemma(word);
    const direct = this.senses(lemma) ?? this.senses(lemma.replace(/-/g, '_'));
    if (direct) return direct;
    const bases = [...(this.exceptions[lemma] ?? [])];
    for (const [suffix, replacement] of [['ies', 'y'], ['es', ''], ['s', '']] as const) {
      if (lemma.endsWith(suffix)) bases.push(lemma.slice(0, -suffix.length) + replacement);
    }
    for (const base of bases) {
      const found = this.senses(base);
      if (found) return found;
    }
    return [];
  }

  /** The index's lemmas that start with `prefix` (lower case, underscores), in sorted order. */
  *lemmasFrom(prefix: string): Generator<LemmaEntry> {
    const at = this.lemmaIndex();
    for (let line = this.firstLineAtLeast(at, prefix); line < at.length - 1; line++) {
      const entry = this.entry(at, line);
      if (!entry.lemma.startsWith(prefix)) return;
      yield entry;
    }
  }

  /** Primary hypernym chain from a synset up to the root (the synset itself first). */
  primaryPath(i: number): number[] {
    const path = [i];
    const seen = new Set(path);
    for (;;) {
      const up = this.parents(path[path.length - 1])[0];
      if (up === undefined || seen.has(up)) return path;
      path.push(up);
      seen.add(up);
    }
  }

  private lemmaRow(i: number): string {
    return this.lemmaText.slice(this.lemmaAt[i], this.lemmaAt[i + 1] - 1);
  }

  /** Synset indexes of exactly this lemma, or undefined: the first lemma from it, when that is the lemma itself. */
  private senses(lemma: string): number[] | undefined {
    const first = this.lemmasFrom(lemma).next();
    return !first.done && first.value.lemma === lemma ? first.value.synsets : undefined;
  }

  // An index line is 'lemma i,j,...' (`at`: the index's line offsets): WordNet lemmas never contain spaces (they
  // are written with underscores).
  private entry(at: Int32Array, line: number): LemmaEntry {
    const text = this.indexText.slice(at[line], at[line + 1] - 1);
    const space = text.indexOf(' ');
    return { lemma: text.slice(0, space), synsets: text.slice(space + 1).split(',').map(Number) };
  }

  private lemmaAtLine(at: Int32Array, line: number): string {
    return this.indexText.slice(at[line], this.indexText.indexOf(' ', at[line]));
  }

  /** The first index line whose lemma is not below `lemma` (binary search). */
  private firstLineAtLeast(at: Int32Array, lemma: string): number {
    let lo = 0;
    let hi = at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.lemmaAtLine(at, mid) < lemma) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Line offsets of the lemma index, made on first use. WordNet's index file is sorted by lemma, and so is the
   * compiled index; an index that is not (another source) is sorted once here.
   */
  private lemmaIndex(): Int32Array {
    if (this.indexAt) return this.indexAt;
    if (this.indexText === '') return (this.indexAt = Int32Array.of(0));
    let at = lineStarts(this.indexText);
    let sorted = true;
    for (let line = 1; line < at.length - 1 && sorted; line++) sorted = this.lemmaAtLine(at, line - 1) < this.lemmaAtLine(at, line);
    if (!sorted) {
      const lines = Array.from({ length: at.length - 1 }, (_, line) => this.entry(at, line));
      lines.sort((a, b) => (a.lemma < b.lemma ? -1 : a.lemma > b.lemma ? 1 : 0));
      this.indexText = lines.map((e) => `${e.lemma} ${e.synsets.join(',')}`).join('\n');
      at = lineStarts(this.indexText);
    }
    this.indexAt = at;
    return at;
  }

  private buildChildren(): void {
    const count = new Int32Array(this.size + 1);
    const each = (fn: (child: number, parent: number) => void) => {
      for (let c = 0; c < this.size; c++) for (const p of this.parents(c)) fn(c, p);
    };
    each((_c, p) => count[p + 1]++);
    for (let i = 0; i < this.size; i++) count[i + 1] += count[i];
    const fill = count.slice();
    const list = new Int32Array(count[this.size]);
    each((c, p) => (list[fill[p]++] = c));
    this.childStart = count;
    this.childList = list;
  }
}
