// The photo page of an animation in headless Chromium: the animation plays from its original file, with a
// strip of keyframe thumbnails under the player and the scenes as labelled bars; screenshots at 1440 and 375 px.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openLibrary, type Library } from '../../src/library/db.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { createServer } from '../../src/server/app.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { photosDir, tempHome } from '../support/env.js';
import { buildAnimation } from '../support/photo-animations.js';
import { chromiumPath, haveChromium, horizontalOverflow, launchChromium, listenLocally, screenshot, watchErrors, type Chromium } from './support/browser.js';
import { ensureWebBuild } from './support/seeded-server.js';

describe('animation photo page', { skip: haveChromium() ? false : `no Chromium at ${chromiumPath}` }, () => {
  const home = tempHome('pictograph-web-anim-');
  let lib: Library;
  let engine: Engine;
  let app: FastifyInstance;
  let chrome: Chromium;
  let url: string;
  let photoId: number;

  before(async () => {
    const webRoot = await ensureWebBuild();
    lib = await openLibrary({ env: home.env });
    engine = await Engine.load({ env: home.env });
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { logger: false, webRoot } });
    const built = await buildAnimation(
      [
        { photo: join(photosDir, 'faces_hummingbird.jpg'), delaysMs: [300, 300, 300, 300] },
        { photo: join(photosDir, 'faces_latte-art.jpg'), delaysMs: [100, 100, 100, 100, 100, 100] },
        { photo: join(photosDir, 'faces_plane-wing.jpg'), delaysMs: [1500, 500] },
      ],
      'gif',
    );
    const file = join(home.home, 'clip.gif');
    writeFileSync(file, built.bytes);
    const summary = await ingestFiles([file], { owner: 'alice', visibility: 'public', recognizer: app.pictograph.runtime.recognizer(), db: lib.db, env: home.env });
    assert.equal(summary.stored, 1, JSON.stringify(summary.errors));
    photoId = summary.photoIds[0]!;
    url = await listenLocally(app);
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await app?.close();
    await engine?.close();
    await lib?.close();
    home.cleanup();
  });

  test('player, keyframe strip and scenes', async () => {
    const page = await chrome.newPage(1440, 900);
    const errors = watchErrors(page);
    await page.goto(`${url}/p/${photoId}`);
    await page.getByTestId('keyframe-strip').waitFor();
    await page.waitForLoadState('networkidle');
    const player = page.getByTestId('player');
    assert.equal(await player.getAttribute('src'), `/v1/photos/${photoId}/original`);
    assert.ok(await player.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 320));
    const frames = page.getByTestId('keyframe-strip').locator('img');
    const n = await frames.count();
    assert.ok(n >= 3, `${n} keyframes`);
    for (let i = 0; i < n; i++) assert.ok(await frames.nth(i).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), `keyframe ${i} loaded`);
    const scenes = await page.getByTestId('timeline-segments').locator('.segment').allInnerTexts();
    assert.equal(scenes.length, 3);
    assert.match(scenes[0]!, /0\.00.+1\.20 s[\s\S]*hummingbird/);
    assert.match(scenes[1]!, /1\.20.+1\.80 s[\s\S]*espresso/);
    assert.match(scenes[2]!, /1\.80.+3\.80 s[\s\S]*wing/);
    await screenshot(page, 'animation-photo-1440');
    const narrow = await chrome.newPage(375, 800);
    await narrow.goto(page.url());
    await narrow.getByTestId('keyframe-strip').waitFor();
    await narrow.waitForLoadState('networkidle');
    assert.equal(await horizontalOverflow(narrow), 0, 'no horizontal overflow at 375 px');
    await screenshot(narrow, 'animation-photo-375');
    assert.deepEqual(errors, []);
  });
});
