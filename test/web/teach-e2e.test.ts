// End-to-end (Chromium): alice signs in, opens "Teach", names a concept, picks four of her dog photos as
// examples, trains, and sees her photos ranked by the concept (dogs first); answering "No" on one ranked photo
// retrains the concept and the answer shows. bob's session gets 404 for alice's concept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { openLibrary, type Library } from '../../src/library/db.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { ensureOwner, findOwnerId } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { tempHome } from '../support/env.js';
import { haveChromium, launchChromium, screenshot, watchErrors, chromiumPath, type Chromium, listenLocally, signIn } from './support/browser.js';
import { calibPhotos, ensureWebBuild, isDogClass } from './support/seeded-server.js';

describe('Teach a concept in Chromium', { skip: haveChromium() ? false : `no Chromium at ${chromiumPath} (apt-get install chromium)` }, () => {
  const home = tempHome('pictograph-web-teach-');
  let lib: Library;
  let app: FastifyInstance;
  let engine: Engine;
  let chrome: Chromium;
  let page: Page;
  let url: string;
  let token: string;
  let bobToken: string;
  let dogIds: Set<number>;
  /** The four dogs she picks: the first four calibration dogs by file (photo ids depend on ingest's timing). */
  let exampleIds: number[];
  let errors: string[];

  before(async () => {
    const webRoot = await ensureWebBuild();
    lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
    engine = await Engine.load({ env: home.env });
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { logger: false, webRoot } });
    const photos = calibPhotos();
    const dogs = photos.filter((p) => isDogClass(p.classIndex)).slice(0, 8);
    const others = photos.filter((p) => p.classIndex >= 400).filter((_, i) => i % 9 === 0).slice(0, 16);
    const summary = await ingestFiles([...dogs, ...others].map((p) => p.file), {
      owner: 'alice',
      visibility: 'private',
      recognizer: app.pictograph.runtime.recognizer(),
      db: lib.db,
      env: home.env,
    });
    assert.equal(summary.failed, 0);
    const dogNames = new Set(dogs.map((p) => p.file.split('/').pop()!));
    const rows = await lib.db.selectFrom('photos').select(['id', 'file_name']).execute();
    dogIds = new Set(rows.filter((r) => dogNames.has(r.file_name)).map((r) => r.id));
    assert.equal(dogIds.size, 8);
    const byName = new Map(rows.map((r) => [r.file_name, r.id]));
    exampleIds = [...dogNames].sort().slice(0, 4).map((n) => byName.get(n)!);
    token = (await createToken(lib.db, { ownerId: (await findOwnerId(lib.db, 'alice'))! })).token;
    bobToken = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'bob') })).token;
    url = await listenLocally(app);
    chrome = await launchChromium();
    page = await chrome.newPage(1440, 900);
    errors = watchErrors(page);
  });

  after(async () => {
    await chrome?.close();
    await app?.close();
    await engine?.close();
    await lib?.close();
    home.cleanup();
  });

  test('teach "my-dogs" from four examples, see dogs ranked first, answer one and see it retrain', async () => {
    await signIn(page, url, token);

    await page.getByRole('link', { name: 'Teach' }).click();
    await page.waitForURL('**/teach');
    await page.getByTestId('concept-name').fill('my-dogs');
    const tiles = page.getByTestId('example-photo');
    await tiles.first().waitFor();
    assert.equal(await tiles.count(), 24);
    // Pick four of the dogs (tiles carry the photo's thumbnail URL /v1/photos/ID/thumbnail).
    const ids = await tiles.evaluateAll((bs) => bs.map((b) => Number(/\/v1\/photos\/(\d+)\//.exec(b.querySelector('img')!.getAttribute('src')!)![1])));
    assert.ok(exampleIds.every((id) => ids.includes(id)), 'her four dogs are among the photos offered');
    for (const id of exampleIds) await tiles.nth(ids.indexOf(id)).click();
    await page.getByText('Photos that show it (4 picked)').waitFor();
    await page.getByTestId('train').click();

    const report = page.getByTestId('teach-report');
    await report.waitFor();
    assert.match(await report.innerText(), /my-dogs learnt from 4 examples and \d+ other\s+photos/);
    const ranked = page.getByTestId('ranked-photo');
    await ranked.first().waitFor();
    const rankedIds = await ranked.evaluateAll((lis) => lis.map((li) => Number(/\/p\/(\d+)/.exec(li.querySelector('a')!.getAttribute('href')!)![1])));
    // What a person sees: the concept's best photos are her dogs (the four examples and the unseen ones).
    assert.equal(rankedIds.length, 24);
    const top = rankedIds.slice(0, 8);
    // (8 dogs among 24 photos: chance puts 2-3 in the top 8; four examples of some breeds find most of the others)
    assert.ok(top.filter((id) => dogIds.has(id)).length >= 6, `dogs ranked first: ${top} of ${[...dogIds]}`);
    assert.ok(top.slice(0, 6).some((id) => dogIds.has(id) && !exampleIds.includes(id)), 'an unseen dog photo ranks near the top');
    // The examples carry the tag; the last-ranked photo (not a dog) does not.
    for (const id of exampleIds) assert.equal(await ranked.nth(rankedIds.indexOf(id)).getAttribute('data-tagged'), 'yes');
    assert.equal(await ranked.last().getAttribute('data-tagged'), 'no');
    assert.match(await ranked.last().innerText(), /not tagged/);
    await screenshot(page, 'teach-1440');

    // "Right?" -> No on the last ranked photo: the concept retrains and the answer is shown.
    const last = ranked.last();
    await last.getByRole('button', { name: 'No' }).click();
    await page.getByText('You said wrong').waitFor();
    await page.getByTestId('teach-report').waitFor();
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);

    // Private: bob cannot see alice's concept.
    const res = await fetch(`${url}/v1/owners/alice/concepts/my-dogs`, { headers: { authorization: `Bearer ${bobToken}` } });
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${url}/v1/tags/${encodeURIComponent('alice/my-dogs')}`, { headers: { authorization: `Bearer ${bobToken}` } })).status, 404);

    // The concept is a tag in alice's hierarchy: its page lists the photos it tags, under the synset it belongs to.
    const tagged = Number(/tags (\d+) of your photos/.exec(await page.getByTestId('teach-report').innerText())![1]);
    await page.getByTestId('teach-tag-link').click();
    await page.waitForURL('**/t/alice%2Fmy-dogs');
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(`my-dogs\\s*${tagged}`));
    assert.match((await page.locator('.gloss').textContent()) ?? '', /Your concept “my-dogs”/);
    assert.equal(await page.locator('[data-testid=photo-grid] .tile').count(), tagged);
  });
});
