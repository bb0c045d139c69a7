// Submitting work to the queue: one ingest job per file (its id from owner + content hash + model, so submitting
// the same folder twice adds nothing), and reindex as one job that fans out per photo.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { expandInputs } from '../vision/pipeline.js';
import type { JobQueue } from './queue.js';

export interface SubmitSummary {
  files: number;
  /** New jobs. */
  submitted: number;
  /** Files whose job already existed (submitted before, queued, running or done). */
  existing: number;
  /** Files that could not be read (not submitted). */
  unreadable: Array<{ file: string; message: string }>;
  jobs: Array<{ file: string; id: string }>;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function submitIngest(
  queue: JobQueue,
  inputs: string[],
  opts: { owner: string; model: string; visibility?: 'private' | 'public'; keepGps?: boolean },
): Promise<SubmitSummary> {
  const owner = opts.owner.trim();
  if (owner === '') throw new Error('owner name must not be empty');
  const files = (await expandInputs(inputs)).map((f) => resolve(f));
  const s: SubmitSummary = { files: files.length, submitted: 0, existing: 0, unreadable: [], jobs: [] };
  for (const file of files) {
    let hash: string;
    try {
      hash = await sha256File(file);
    } catch (err) {
      s.unreadable.push({ file, message: (err as Error).message });
      continue;
    }
    const r = await queue.submitIngest({ owner, path: file, hash, visibility: opts.visibility ?? 'private', keepGps: opts.keepGps, model: opts.model });
    if (r.created) s.submitted++;
    else s.existing++;
    s.jobs.push({ file, id: r.id });
  }
  return s;
}
