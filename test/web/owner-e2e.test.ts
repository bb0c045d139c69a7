// End-to-end as a signed-in owner whose photos are all private: `pictograph up DIR --owner maria` (a real child
// process), the sign-in link it prints opened in headless Chromium, then every page (home, category, person
// treemap, photo, compare, search) at 1440 and 375 px with every <img> checked to have loaded. Another owner's
// browser session and an anonymous one get 404 for maria's images; sign-out ends the session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot, tempHome } from '../support/env.js';
import { openLibrary } from '../../src/library/db.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { loadRecognizer } from '../../src/library/recognizer.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { haveChromium, horizontalOverflow, launchChromium, screenshot, submitSignIn, watchErrors, chromiumPath, type Chromium } from './support/browser.js';
import { calibPhotos, ensureWebBuild, isAnimalClass, isDogClass } from './support/seeded-server.js';

const DOG = 'n02084071';
/** `up --port`: 0 picks a free port; set PICTOGRAPH_E2E_PORT to pin one. */
const PORT = process.env.PICTOGRAPH_E2E_PORT ?? '0';

interface ImageCheck {
  total: number;
  broken: string[];
  srcs: string[];
}

/** Loads every <img> on the page now (lazy ones too) and reports those that did not decode (naturalWidth 0). */
async function checkImages(page: Page): Promise<ImageCheck> {
  await page.waitForLoadState('networkidle');
  await page.locator('main .loading').first().waitFor({ state: 'detached', timeout: 20_000 }).catch(() => undefined);
  await page.evaluate(() => {
    for (const img of Array.from(document.images)) img.loading = 'eager';
  });
  await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete), null, { timeout: 30_000 });
  return page.evaluate(() => {
    const imgs = Array.from(document.images);
    return {
      total: imgs.length,
      broken: imgs.filter((img) => img.naturalWidth === 0).map((img) => img.currentSrc || img.src),
      srcs: imgs.map((img) => new URL(img.currentSrc || img.src).pathname + new URL(img.currentSrc || img.src).search),
    };
  });
}

/** Statuses of same-origin GETs made by the page itself (so with its cookies, as an <img> would). */
async function statusesFrom(page: Page, urls: string[]): Promise<number[]> {
  return page.evaluate((list) => Promise.all(list.map((u) => fetch(u, { cache: 'no-store' }).then((r) => r.status))), urls);
}

describe('the web app as a signed-in owner with private photos', { skip: haveChromium() ? false : `no Chromium at ${chromiumPath}` }, () => {
  const home = tempHome('pictograph-owner-e2e-');
  let child: ChildProcess;
  let base = '';
  let signInLink = '';
  let bobToken = '';
  let mariaPhotos: Array<{ id: number; thumbnail: string }> = [];
  /** Image URLs of maria's private photos seen on her pages. */
  const mariaImageUrls = new Set<string>();
  let chrome: Chromium;
  let page: Page;
  let errors: string[];
  let stdout = '';
  let stderr = '';

  before(async () => {
    await ensureWebBuild();
    const photos = calibPhotos();
    const dogs = photos.filter((p) => isDogClass(p.classIndex));
    const animals = photos.filter((p) => isAnimalClass(p.classIndex) && !isDogClass(p.classIndex));
    const artefacts = photos.filter((p) => p.classIndex >= 400);
    // bob: public photos of things (and a few dogs), ingested beforehand; his token signs his browser in.
    const lib = await openLibrary({ env: home.env });
    const recognizer = await loadRecognizer({ env: home.env });
    try {
      const bobFiles = [...artefacts.filter((_, i) => i % 7 === 0).slice(0, 14), ...dogs.slice(-3)].map((p) => p.file);
      const summary = await ingestFiles(bobFiles, { owner: 'bob', visibility: 'public', recognizer, db: lib.db, env: home.env });
      assert.equal(summary.failed, 0);
      bobToken = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'bob') })).token;
    } finally {
      await recognizer.close();
      await lib.close();
    }
    // maria: a folder served by `up` (private by default).
    const dir = mkdtempSync(join(home.home, 'maria-'));
    for (const p of [...dogs.slice(0, 18), ...animals.filter((_, i) => i % 9 === 0).slice(0, 12), ...artefacts.filter((_, i) => i % 11 === 0).slice(0, 6)]) {
      copyFileSync(p.file, join(dir, basename(p.file)));
    }
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', dir, '--owner', 'maria', '--port', PORT], {
      cwd: repoRoot,
      env: home.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = Date.now();
    for (;;) {
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/signin#code=pgc_\S+/.exec(stdout);
      if (m) {
        base = m[1]!;
        signInLink = m[0];
        break;
      }
      if (child.exitCode !== null || Date.now() - started > 300_000) throw new Error(`up did not print a sign-in link:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    while ((await fetch(`${base}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 200));
    chrome = await launchChromium();
    page = await chrome.newPage(1440, 900);
    errors = watchErrors(page);
  });

  after(async () => {
    await chrome?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    home.cleanup();
  });

  test('the sign-in link from `up` opens the app signed in as maria, with no secret left for scripts', async () => {
    assert.match(stdout, /Open this link to sign in as maria \(works once, within 15 minutes\)/);
    await page.goto(signInLink);
    assert.equal(await page.getByTestId('signed-in-as').textContent(), 'maria');
    assert.equal(page.url(), `${base}/`, 'the code is gone from the address bar');
    const cookies = await chrome.context.cookies(base);
    const session = cookies.find((c) => c.name === 'pictograph_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
    assert.equal(await page.evaluate(() => JSON.stringify(Object.keys(localStorage))), '[]', 'no token in localStorage');
    // The link works once: opening it again leaves a clear note (and this browser still signed in).
    const again = await chrome.newPage(1440, 900);
    try {
      await again.goto(signInLink);
      assert.match((await again.getByTestId('notice').textContent()) ?? '', /expired or was already used/);
    } finally {
      await again.close();
    }
    const listed = await page.evaluate(() => fetch('/v1/photos?owner=maria&limit=200').then((r) => r.json()));
    mariaPhotos = (listed as { photos: Array<{ id: number; thumbnail: string; visibility: string }> }).photos;
    assert.equal(mariaPhotos.length, 36);
    assert.ok(mariaPhotos.every((p) => (p as { visibility?: string }).visibility === 'private'));
  });

  const pages: Array<{ name: string; path: () => string; ready: (p: Page) => Promise<void> }> = [
    { name: 'home', path: () => '/', ready: (p) => p.locator('.cards .card img').first().waitFor() },
    { name: 'category-dog', path: () => `/c/${DOG}`, ready: (p) => p.locator('[data-testid=photo-grid] .tile').first().waitFor() },
    { name: 'person-treemap', path: () => '/u/maria', ready: (p) => p.locator('[data-testid=treemap] .cell img').first().waitFor() },
    { name: 'photo', path: () => `/p/${mariaPhotos[0]!.id}`, ready: (p) => p.locator('.photo-figure img').waitFor() },
    { name: 'compare', path: () => '/compare?a=maria&b=bob', ready: (p) => p.getByTestId('more-a').locator('.pair').first().waitFor() },
    { name: 'search', path: () => '/search?q=dog', ready: (p) => p.locator('[data-testid=photo-grid] .tile').first().waitFor() },
  ];

  for (const { name, path, ready } of pages) {
    test(`${name}: every image loads for maria at 1440 and 375 px`, async () => {
      const mine = new Set(mariaPhotos.map((p) => String(p.id)));
      for (const width of [1440, 375]) {
        const tab = width === 1440 ? page : await chrome.newPage(375, 800);
        try {
          await tab.goto(base + path());
          await ready(tab);
          const check = await checkImages(tab);
          assert.ok(check.total > 0, `${name} at ${width} px shows images`);
          assert.deepEqual(check.broken, [], `${name} at ${width} px: broken images`);
          const own = check.srcs.filter((s) => mine.has(/\/v1\/photos\/(\d+)\//.exec(s)?.[1] ?? ''));
          assert.ok(own.length > 0, `${name} at ${width} px shows maria's own (private) photos`);
          for (const s of own) mariaImageUrls.add(s);
          if (width === 375) assert.equal(await horizontalOverflow(tab), 0, `${name} overflows at 375 px`);
          await tab.evaluate(() => window.scrollTo(0, 0));
          await screenshot(tab, `owner-${name}-${width}`);
        } finally {
          if (tab !== page) await tab.close();
        }
      }
    });
  }

  test('the treemap cells are mosaics of the category’s photos', async () => {
    await page.goto(`${base}/u/maria`);
    const cells = page.locator('[data-testid=treemap] .cell');
    await cells.first().locator('img').first().waitFor();
    const perCell = await cells.evaluateAll((els) => els.map((e) => e.querySelectorAll('img').length));
    assert.ok(perCell.length >= 2 && perCell.every((n) => n >= 1), `images per cell: ${perCell}`);
    assert.ok(perCell[0]! >= 4, `the biggest cell is a mosaic (${perCell[0]} photos)`);
  });

  test('everyday words: search maps beach, offers "did you mean" for crane, says plainly it does not know sunrise; category chips only when the photo counts', async () => {
    await page.goto(`${base}/search?q=beach`);
    await page.getByTestId('synsets').locator('li').first().waitFor();
    assert.match((await page.getByTestId('synsets').locator('li a').first().textContent()) ?? '', /seashore/);
    await page.goto(`${base}/search?q=crane`);
    await page.getByTestId('did-you-mean').waitFor();
    assert.equal(await page.getByTestId('did-you-mean').locator('a').count(), 2);
    assert.match((await page.getByTestId('did-you-mean').textContent()) ?? '', /wading bird/);
    await screenshot(page, 'owner-search-did-you-mean-1440');
    // "sunset" is an everyday tag now (a search finds the photos tagged with it); "sunrise" is not a word we know
    await page.goto(`${base}/search?q=sunrise`);
    await page.getByTestId('unknown-words').waitFor();
    assert.match((await page.getByTestId('unknown-words').textContent()) ?? '', /sunrise/);
    for (const photo of mariaPhotos.slice(0, 6)) {
      await page.goto(`${base}/p/${photo.id}`);
      await page.locator('[data-testid=labels] .bar-row').first().waitFor();
      const chips = await page.locator('[data-testid=category-chips] .chip .count').allTextContents();
      for (const c of chips) assert.ok(Number(c.replace('%', '')) >= 30, `chip at ${c}`);
    }
  });

  test("another owner's browser session and an anonymous one get 404 for maria's images", async () => {
    const urls = [...mariaImageUrls];
    assert.ok(urls.length >= 20, `${urls.length} distinct images of maria's were shown`);
    assert.ok(urls.some((u) => u.includes('size=1024')) && urls.some((u) => u.includes('size=256')));
    assert.deepEqual(new Set(await statusesFrom(page, urls)), new Set([200]), 'maria herself may load them');
    const other = await launchChromium();
    try {
      const bob = await other.newPage(1440, 900);
      await bob.goto(base + '/');
      await bob.getByRole('button', { name: 'Sign in' }).click();
      await bob.getByLabel('API token').fill(bobToken);
      await submitSignIn(bob);
      assert.equal(await bob.getByTestId('signed-in-as').textContent(), 'bob');
      assert.deepEqual(new Set(await statusesFrom(bob, urls)), new Set([404]), "bob's session");
      await bob.goto(`${base}/p/${mariaPhotos[0]!.id}`);
      assert.match((await bob.locator('main .error').textContent()) ?? '', /Not found/);
      await screenshot(bob, 'owner-other-photo-404-1440');
      await bob.goto(`${base}/compare?a=maria&b=bob`);
      await bob.getByTestId('compare-empty').waitFor();
      assert.match((await bob.getByTestId('compare-empty').textContent()) ?? '', /maria has no photos you can see/);
      assert.deepEqual((await checkImages(bob)).broken, []);
      await screenshot(bob, 'owner-other-compare-1440');
    } finally {
      await other.close();
    }
    const anon = await launchChromium();
    try {
      const tab = await anon.newPage(1440, 900);
      await tab.goto(base + '/');
      await tab.getByRole('button', { name: 'Sign in' }).waitFor();
      assert.deepEqual(new Set(await statusesFrom(tab, urls)), new Set([404]), 'anonymous');
      await tab.goto(`${base}/u/maria`);
      assert.deepEqual((await checkImages(tab)).broken, []);
    } finally {
      await anon.close();
    }
  });

  test('sign-out revokes the session: the same browser then gets 404 for her images', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const cookies = await chrome.context.cookies(base);
    assert.equal(cookies.find((c) => c.name === 'pictograph_session'), undefined);
    assert.deepEqual(new Set(await statusesFrom(page, [...mariaImageUrls].slice(0, 10))), new Set([404]));
  });

  test('no script errors on any page', () => {
    assert.deepEqual(errors, []);
  });
});
