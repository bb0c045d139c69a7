// Reindex with a real second model: only photos from the other model are re-classified, a photo whose file is
// gone keeps its old (still readable) results and is reported.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ingestFiles } from '../../src/library/ingest.js';
import { photoDetail } from '../../src/library/photos.js';
import { loadRecognizer } from '../../src/library/recognizer.js';
import { reindexPhotos } from '../../src/library/reindex.js';
import { libraryStats } from '../../src/library/stats.js';
import { ADMIN } from '../../src/library/viewer.js';
import { calibImages } from '../support/env.js';
import { backends } from './support.js';

describe('reindex to another real model', () => {
  let ctx: Awaited<ReturnType<(typeof backends)[0]['open']>>;
  before(async () => {
    ctx = await backends[0].open();
  });
  after(async () => ctx.cleanup());

  it('re-classifies only what another model produced, atomically per photo', async () => {
    const dir = join(ctx.home, 'in');
    mkdirSync(dir);
    const names = readdirSync(calibImages).sort().slice(100, 106);
    for (const f of names) copyFileSync(join(calibImages, f), join(dir, f));
    const mobile = await loadRecognizer({ env: ctx.env });
    const s = await ingestFiles([dir], { owner: 'ann', recognizer: mobile, db: ctx.lib.db, env: ctx.env });
    await mobile.close();
    assert.equal(s.stored, 6);
    rmSync(join(dir, names[0])); // this photo's original is gone: it cannot be re-classified

    const shuffle = await loadRecognizer({ modelId: 'shufflenet-v2-12-qdq', env: ctx.env });
    try {
      assert.notEqual(shuffle.model.id, mobile.model.id);
      const r = await reindexPhotos(ctx.lib.db, { recognizer: shuffle });
      assert.equal(r.total, 6);
      assert.equal(r.replaced, 5);
      assert.equal(r.failed, 1);
      assert.equal(r.errors[0].code, 'not_found');
      const stats = await libraryStats(ctx.lib.db, ADMIN);
      assert.deepEqual(
        stats.models.map((m) => [m.id, m.photos]),
        [
          [mobile.model.id, 1],
          [shuffle.model.id, 5],
        ],
      );
      for (const id of s.photoIds) {
        const d = await photoDetail(ctx.lib.db, ADMIN, id);
        assert.ok(d.labels.length > 0 && d.nodeScores.length > 0, 'every photo stays readable');
      }
      // nothing left from another model except the photo whose file is gone
      const again = await reindexPhotos(ctx.lib.db, { recognizer: shuffle });
      assert.equal(again.total, 1);
    } finally {
      await shuffle.close();
    }
  });
});
