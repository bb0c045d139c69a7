// EXIF capture on real camera photos: date taken, camera, orientation; GPS kept only when asked.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readExif } from '../../src/library/exif.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { photoDetail } from '../../src/library/photos.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { ADMIN } from '../../src/library/viewer.js';
import { calibImages, photosDir } from '../support/env.js';
import { backends } from './support.js';

const TILES = join(photosDir, 'forensics_white-dog-tiles.jpg'); // Xiaomi, orientation 3, with GPS

describe('EXIF', () => {
  it('reads date, camera and orientation, and GPS only when asked', async () => {
    const bytes = readFileSync(TILES);
    const plain = await readExif(bytes, false);
    assert.deepEqual(plain, { takenAt: '2020-01-24T23:11:53', camera: 'Xiaomi Mi A3', orientation: 3, gps: null });
    const withGps = await readExif(bytes, true);
    assert.ok(withGps.gps && Math.abs(withGps.gps.lat - -15.83567) < 1e-4 && Math.abs(withGps.gps.lon - -48.01556) < 1e-4);
    assert.deepEqual(await readExif(Buffer.from('not an image'), true), { takenAt: null, camera: null, orientation: null, gps: null });
  });

  describe('through ingest (SQLite)', () => {
    let rec: LoadedRecognizer;
    let ctx: Awaited<ReturnType<(typeof backends)[0]['open']>>;
    before(async () => {
      ctx = await backends[0].open();
      rec = await loadRecognizer({ env: ctx.env });
    });
    after(async () => {
      await rec.close();
      await ctx.cleanup();
    });

    it('stores EXIF facts, drops GPS by default and keeps it with keepGps', async () => {
      const a = await ingestFiles([TILES], { owner: 'ann', recognizer: rec, db: ctx.lib.db, env: ctx.env });
      const b = await ingestFiles([TILES], { owner: 'bob', recognizer: rec, db: ctx.lib.db, env: ctx.env, keepGps: true, visibility: 'public' });
      const pa = await photoDetail(ctx.lib.db, ADMIN, a.photoIds[0]);
      const pb = await photoDetail(ctx.lib.db, ADMIN, b.photoIds[0]);
      assert.equal(pa.camera, 'Xiaomi Mi A3');
      assert.equal(pa.takenAt, '2020-01-24T23:11:53');
      assert.equal(pa.orientation, 3);
      assert.equal(pa.gps, null);
      assert.ok(pb.gps && pb.gps.lat < -15);
      assert.equal(pb.visibility, 'public');
      assert.equal(pa.contentHash, pb.contentHash);
      assert.ok(pa.labels.length > 0);
    });

    it('reads the EXIF that libvips does not see (a PNG\'s), and a JPEG without EXIF stores none', async () => {
      // ingest skips the EXIF reader only for JPEGs whose decoder found no EXIF block
      const png = join(photosDir, 'jxl_sea-cliff.png');
      const plainJpeg = join(calibImages, readdirSync(calibImages).filter((f) => f.endsWith('.JPEG')).sort()[0]!);
      assert.equal((await readExif(readFileSync(plainJpeg), true)).takenAt, null);
      const s = await ingestFiles([png, plainJpeg], { owner: 'cy', recognizer: rec, db: ctx.lib.db, env: ctx.env });
      assert.equal(s.stored, 2);
      const stored = await Promise.all(s.photoIds.map((id) => photoDetail(ctx.lib.db, ADMIN, id)));
      const p = stored.find((d) => d.format === 'png');
      const j = stored.find((d) => d.format === 'jpeg');
      assert.equal(p!.takenAt, '2000-06-27T00:09:04');
      assert.equal(p!.camera, 'NIKON CORPORATION NIKON D7100');
      assert.equal(j!.takenAt, null);
      assert.equal(j!.camera, null);
    });
  });
});
