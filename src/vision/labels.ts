// The imagenet-1k label set: the 1000 classes in model output order (sorted wnids), read from the committed
// data file.
import { readFileSync } from 'node:fs';
import { projectDataFile } from '../config/paths.js';

export interface ClassLabel {
  wnid: string;
  /** Output index in the model's label set. */
  index: number;
  name: string;
}

/** Parses `class_index<TAB>wnid<TAB>name` lines (with a header) and checks they cover 0..n-1 in order. */
export function parseClassTable(text: string): ClassLabel[] {
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const out: ClassLabel[] = [];
  for (const line of rows.slice(1)) {
    const [index, wnid, name] = line.split('\t');
    const i = Number(index);
    if (!Number.isInteger(i) || i !== out.length || !/^n\d{8}$/.test(wnid ?? '') || !name) {
      throw new Error(`bad class table line ${out.length + 2}: ${JSON.stringify(line)}`);
    }
    out.push({ wnid: wnid!, index: i, name });
  }
  return out;
}

let imagenet: ClassLabel[] | undefined;

/** The imagenet-1k classes (loaded once). */
export function imagenetLabels(): ClassLabel[] {
  imagenet ??= parseClassTable(readFileSync(projectDataFile('imagenet-1k-classes.tsv'), 'utf8'));
  if (imagenet.length !== 1000) throw new Error(`imagenet-1k-classes.tsv has ${imagenet.length} classes, expected 1000`);
  return imagenet;
}
