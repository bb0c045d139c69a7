// Concepts bench: the shipped everyday head's per-concept held-out F1 (from its file), teaching a custom concept
// from 10 positives over a library of 10,000 stored photos (1280-d embeddings), and re-scoring those photos.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHead } from '../src/concepts/head.js';
import { everydayHeadPath } from '../src/concepts/train-everyday.js';
import { openLibrary } from '../src/library/db.js';
import { embeddingToBytes } from '../src/library/embedding.js';
import { ownerEmbeddings, rescoreOwnerPhotos, teachConcept } from '../src/library/concepts.js';
import { ensureOwner } from '../src/library/store.js';
import { DEFAULT_MODEL_ID } from '../src/vision/manifest.js';

const PHOTOS = 10_000;
const DIM = 1280;

/** A unit vector near one of 20 random centres (photos of 20 kinds). */
function embeddings(n: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const rand = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: DIM }, rand));
  return Array.from({ length: n }, (_, i) => {
    const v = Float32Array.from(centres[i % 20], (c) => c + 0.8 * rand());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

export async function benchConcepts(): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  const head = await readHead(everydayHeadPath(DEFAULT_MODEL_ID)).catch(() => null);
  if (head) {
    for (const c of head.concepts) report[`f1.${c.id}`] = c.validation?.f1 ?? null;
    const micro = (head.training.heldOutMicro as { photos?: { f1: number }; real?: { f1: number } } | undefined) ?? {};
    report.everydayMicroF1Photos = micro.photos?.f1 ?? null;
    report.everydayMicroF1Real = micro.real?.f1 ?? null;
    report.everydaySubjectAgreement = (head.training.subjectAgreement as number | undefined) ?? null;
  }
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-concepts-'));
  const lib = await openLibrary({ env: { PICTOGRAPH_HOME: home, DATABASE_URL: '' } });
  try {
    const db = lib.db;
    const model = { id: 'bench-model', sha256: 'b'.repeat(64) };
    const owner = await ensureOwner(db, 'bench');
    const embs = embeddings(PHOTOS, 7);
    const t0 = performance.now();
    for (let i = 0; i < PHOTOS; i += 500) {
      await db.transaction().execute(async (tx) => {
        for (let j = i; j < Math.min(PHOTOS, i + 500); j++) {
          const hash = randomBytes(16).toString('hex');
          const { id } = await tx
            .insertInto('photos')
            .values({ owner_id: owner, content_hash: hash, original_path: `/b/${j}.jpg`, file_name: `${j}.jpg`, size: 1, width: 1, height: 1, format: 'jpeg', taken_at: null, camera: null, orientation: 1, gps_lat: null, gps_lon: null, thumb_small: null, thumb_large: null, visibility: 'private', created_at: '' })
            .returning('id')
            .executeTakeFirstOrThrow();
          await tx
            .insertInto('analyses')
            .values({ photo_id: id, model_id: model.id, model_sha256: model.sha256, top_wnid: 'n02084071', top_score: 1, hedged_wnid: null, hedged_name: null, hedged_score: null, hedged_target: null, labels: '[]', categories: '[]', embedding: embeddingToBytes(embs[j]), created_at: '' })
            .execute();
        }
      });
    }
    report.seedSeconds = (performance.now() - t0) / 1000;
    const stored = await ownerEmbeddings(db, owner, model);
    // 10 positives of kind 0.
    const positives = stored.filter((_, i) => i % 20 === 0).slice(0, 10).map((p) => ({ embedding: p.embedding, hash: p.hash }));
    const t1 = performance.now();
    const taught = await teachConcept(db, { owner: 'bench', name: 'kind zero', model, positives });
    report.teach10PositivesSeconds = (performance.now() - t1) / 1000;
    report.teachTrainSeconds = taught.seconds.train;
    report.teachRescoreSeconds = taught.seconds.rescore;
    report.teachNegatives = taught.concept.negatives;
    report.taggedPhotos = taught.concept.photos;
    report.expectedTagged = PHOTOS / 20;
    report.diagnosis = taught.concept.report.diagnosis.join('; ');
    const { Head } = await import('../src/concepts/head.js');
    const row = await db.selectFrom('concepts').select('head').executeTakeFirstOrThrow();
    const t2 = performance.now();
    await rescoreOwnerPhotos(db, owner, Head.fromFile(JSON.parse(row.head)));
    report.rescore10000Seconds = (performance.now() - t2) / 1000;
  } finally {
    await lib.close();
    rmSync(home, { recursive: true, force: true });
  }
  return report;
}
