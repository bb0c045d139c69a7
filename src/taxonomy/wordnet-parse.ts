// Parsers for the WordNet 3.0 database files (data.noun, index.noun): text in, plain records out.

/** One noun synset as written in `data.noun`. */
export interface SynsetRecord {
  /** Byte offset in data.noun; the wnid is 'n' + 8-digit offset. */
  offset: number;
  /** Lemmas in the synset's own order, spelled as WordNet writes them (underscores for spaces). */
  lemmas: string[];
  gloss: string;
  /** `@` pointers: offsets of the synset's hypernyms, in file order (the first is the primary one). */
  hypernyms: number[];
  /** `@i` pointers: offsets of the classes this synset is an instance of. */
  instanceHypernyms: number[];
}

/** wnid of a noun offset: 'n' + the offset zero-padded to 8 digits. */
export function wnidOf(offset: number): string {
  return 'n' + String(offset).padStart(8, '0');
}

/** Offset of a wnid ('n02084071' -> 2084071), or undefined when it is not a noun wnid. */
export function offsetOf(wnid: string): number | undefined {
  return /^n\d{8}$/.test(wnid) ? Number(wnid.slice(1)) : undefined;
}

/** Parses one non-header line of data.noun. */
export function parseDataLine(line: string): SynsetRecord {
  const bar = line.indexOf(' | ');
  const head = (bar >= 0 ? line.slice(0, bar) : line).trim().split(' ');
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
  const offset = Number(head[0]);
  const wordCount = parseInt(head[3], 16);
  const lemmas: string[] = [];
  let at = 4;
  for (let w = 0; w < wordCount; w++, at += 2) lemmas.push(head[at]);
  const pointerCount = Number(head[at++]);
  const hypernyms: number[] = [];
  const instanceHypernyms: number[] = [];
  for (let p = 0; p < pointerCount; p++, at += 4) {
    const symbol = head[at];
    const target = Number(head[at + 1]);
    const pos = head[at + 2];
    if (pos !== 'n') continue;
    if (symbol === '@') hypernyms.push(target);
    else if (symbol === '@i') instanceHypernyms.push(target);
  }
  if (!Number.isFinite(offset) || lemmas.length === 0) throw new Error(`malformed data.noun line: ${line.slice(0, 80)}`);
  return { offset, lemmas, gloss, hypernyms, instanceHypernyms };
}

/** Parses all of data.noun (license header lines start with two spaces and are skipped). */
export function parseDataNoun(text: string): SynsetRecord[] {
  const records: SynsetRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith(' ')) continue;
    records.push(parseDataLine(line));
  }
  return records;
}

/** Parses index.noun into lemma -> synset offsets in sense order (most frequent sense first). */
export function parseIndexNoun(text: string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith(' ')) continue;
    const f = line.trim().split(' ');
    const lemma = f[0];
    const synsetCount = Number(f[2]);
    const pointerCount = Number(f[3]);
    const first = 4 + pointerCount + 2;
    const offsets: number[] = [];
    for (let i = 0; i < synsetCount; i++) offsets.push(Number(f[first + i]));
    index.set(lemma, offsets);
  }
  return index;
}

/** Parses WordNet's morphological exception list (noun.exc: "inflected base ..."). */
export function parseExceptions(text: string): Map<string, string[]> {
  const exceptions = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length >= 2) exceptions.set(f[0], f.slice(1));
  }
  return exceptions;
}
