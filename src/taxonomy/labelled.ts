// Labelled photo sets for calibration and evaluation: the labels TSV (file, wnid) and the model's predictions for them.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { Engine } from '../vision/engine.js';
import { classifyFiles } from '../vision/pipeline.js';

export interface LabelledPhoto {
  file: string;
  wnid: string;
}

/** Parses a labels TSV by header name (`file`, `wnid`; other columns ignored); files resolved against `imagesDir`. */
export function parseLabelsTsv(text: string, imagesDir: string): LabelledPhoto[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('labels TSV is empty');
  const header = lines[0].split('\t').map((h) => h.trim());
  const fileCol = header.indexOf('file');
  const wnidCol = header.indexOf('wnid');
  if (fileCol < 0 || wnidCol < 0) throw new Error(`labels TSV needs 'file' and 'wnid' columns (found: ${header.join(', ')})`);
  return lines.slice(1).map((line, i) => {
    const cols = line.split('\t');
    const file = cols[fileCol]?.trim();
    const wnid = cols[wnidCol]?.trim();
    if (!file || !wnid) throw new Error(`labels TSV line ${i + 2}: missing file or wnid`);
    return { file: isAbsolute(file) ? file : join(imagesDir, file), wnid };
  });
}

export interface LabelledPredictions {
  model: { id: string; sha256: string };
  photos: LabelledPhoto[];
  probs: Float32Array[];
  /** Photos that could not be classified (left out of photos/probs). */
  failed: Array<{ file: string; message: string }>;
}

/** Runs the model over a labelled set. */
export async function predictLabelled(
  imagesDir: string,
  labelsTsv: string,
  opts: { modelId?: string; env?: NodeJS.ProcessEnv; engine?: Engine; onProgress?: (done: number, total: number) => void } = {},
): Promise<LabelledPredictions> {
  const photos = parseLabelsTsv(readFileSync(labelsTsv, 'utf8'), imagesDir);
  const engine = opts.engine ?? (await Engine.load({ modelId: opts.modelId, env: opts.env }));
  try {
    const byFile = new Map(photos.map((p) => [p.file, p]));
    const out: LabelledPredictions = { model: { id: engine.model.id, sha256: engine.model.sha256 }, photos: [], probs: [], failed: [] };
    let done = 0;
    for await (const item of classifyFiles(photos.map((p) => p.file), { engine })) {
      opts.onProgress?.(++done, photos.length);
      if ('error' in item) { out.failed.push({ file: item.file, message: item.error.message }); continue; }
      out.photos.push(byFile.get(item.file)!);
      out.probs.push(item.prediction.probs);
    }
    return out;
  } finally {
    if (!opts.engine) await engine.close();
  }
}
