// End-to-end (Chromium): alice's photos of a couple are ingested with face detection; she signs in, opens
// People, names the person seen in both photos "Aunt Margaret", finds her photos by searching that name, and sees
// the face outlined with the name on the photo page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { openLibrary, type Library } from '../../src/library/db.js';
import { faceStage } from '../../src/library/face-stage.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { findOwnerId } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { FaceDetector } from '../../src/vision/faces/detector.js';
import { photosDir, tempHome } from '../support/env.js';
import { haveChromium, launchChromium, screenshot, watchErrors, chromiumPath, type Chromium, listenLocally, signIn } from './support/browser.js';
import { ensureWebBuild } from './support/seeded-server.js';

describe('People in Chromium', { skip: haveChromium() ? false : `no Chromium at ${chromiumPath} (apt-get install chromium)` }, () => {
  const home = tempHome('pictograph-web-people-');
  let lib: Library;
  let app: FastifyInstance;
  let engine: Engine;
  let detector: FaceDetector;
  let chrome: Chromium;
  let page: Page;
  let url: string;
  let token: string;
  let photoIds: number[];
  let errors: string[];

  before(async () => {
    const webRoot = await ensureWebBuild();
    lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
    engine = await Engine.load({ env: home.env });
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    detector = await FaceDetector.load();
    app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { logger: false, webRoot }, faces: detector });
    const files = ['kpa_bar-couple-1.jpg', 'kpa_bar-couple-2.jpg', 'gcompris_meerkats.jpg'].map((f) => join(photosDir, f));
    const summary = await ingestFiles(files, {
      owner: 'alice',
      visibility: 'private',
      recognizer: app.pictograph.runtime.recognizer(),
      db: lib.db,
      env: home.env,
      faces: faceStage(detector, taxonomy.hierarchy),
    });
    assert.equal(summary.failed, 0);
    const rows = await lib.db.selectFrom('photos').select(['id', 'file_name']).where('file_name', 'like', 'kpa_bar-couple-%').orderBy('file_name').execute();
    photoIds = rows.map((r) => r.id);
    token = (await createToken(lib.db, { ownerId: (await findOwnerId(lib.db, 'alice'))! })).token;
    url = await listenLocally(app);
    chrome = await launchChromium();
    page = await chrome.newPage(1440, 900);
    errors = watchErrors(page);
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
    await detector?.close();
    await engine?.close();
    await lib?.close();
    home.cleanup();
  });

  test('name a person on the People page, then find them by name', async () => {
    await signIn(page, url, token);

    // the header's link (a "group of people" tag chip may also be on the page)
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.waitForURL('**/people');
    const cards = page.locator('[data-testid=people] .person-card');
    await cards.first().waitFor();
    // The person seen in both photos.
    const twice = cards.filter({ hasText: '2 photos' }).first();
    await twice.locator('img.face-crop').waitFor();
    await screenshot(page, 'people-1440');
    const input = twice.locator('input');
    await input.fill('Aunt Margaret');
    await input.press('Enter');
    await twice.getByText('Saved').waitFor();

    await page.locator('form.search input[type=search]').fill('Aunt Margaret');
    await page.locator('form.search input[type=search]').press('Enter');
    await page.waitForURL('**/search?q=*');
    const tiles = page.locator('[data-testid=photo-grid] .tile');
    await tiles.first().waitFor();
    const hrefs = await tiles.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    for (const id of photoIds) assert.ok(hrefs.includes(`/p/${id}`), `search shows photo ${id}: ${hrefs}`);

    await page.goto(`${url}/p/${photoIds[0]}`);
    await page.locator('.face-box .face-name', { hasText: 'Aunt Margaret' }).first().waitFor();
    assert.ok((await page.getByTestId('face-box').count()) >= 2);
    await screenshot(page, 'photo-faces-1440');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
  });
});
