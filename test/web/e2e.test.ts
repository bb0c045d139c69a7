// End-to-end: the built web app in headless Debian Chromium against a real server seeded from the calib photos.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { haveChromium, horizontalOverflow, launchChromium, screenshot, submitSignIn, watchErrors, chromiumPath, type Chromium } from './support/browser.js';
import { isDogClass, startSeededServer, type SeededServer } from './support/seeded-server.js';

const DOG = 'n02084071';
const ANIMAL = 'n00015388';
const BEAGLE = 'n02088364';

describe('web app in Chromium against a seeded server', { skip: haveChromium() ? false : `no Chromium at ${chromiumPath} (apt-get install chromium)` }, () => {
  let server: SeededServer;
  let chrome: Chromium;
  let page: Page;
  let errors: string[];

  async function apiGet<T>(path: string): Promise<T> {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.aliceToken}` } });
    assert.equal(res.status, 200, `${path} -> ${res.status}`);
    return (await res.json()) as T;
  }

  async function open(path: string): Promise<void> {
    await page.goto(server.url + path);
  }

  /** Screenshot at 1440 px, then the same URL at 375 px: screenshot and no horizontal overflow. */
  async function capture(name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    await screenshot(page, `${name}-1440`);
    const narrow = await chrome.newPage(375, 800);
    try {
      await narrow.goto(page.url());
      await narrow.waitForLoadState('networkidle');
      await narrow.locator('main .loading').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
      assert.equal(await horizontalOverflow(narrow), 0, `${name} overflows horizontally at 375 px`);
      await screenshot(narrow, `${name}-375`);
    } finally {
      await narrow.close();
    }
  }

  before(async () => {
    server = await startSeededServer();
    chrome = await launchChromium();
    page = await chrome.newPage(1440, 900);
    errors = watchErrors(page);
  });

  after(async () => {
    await chrome?.close();
    await server?.close();
  });

  test('sign in with a token in the header', async () => {
    await open('/');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('API token').fill('pgt_not-a-real-token');
    await page.locator('form.signin-form button[type=submit]').click();
    await page.locator('.signin-error').waitFor();
    await page.getByLabel('API token').fill(server.aliceToken);
    await submitSignIn(page);
    assert.equal(await page.getByTestId('signed-in-as').textContent(), 'alice');
    await capture('home');
  });

  test('home -> animal -> dog -> photo, answer "Was this right?" and see it stored', async () => {
    await open('/');
    await page.locator(`.cards a[data-wnid="${ANIMAL}"]`).click();
    await page.waitForURL(`**/c/${ANIMAL}`);
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    assert.match((await page.locator('h1').textContent()) ?? '', /animal/i);
    await capture('category-animal');

    await page.locator(`[data-testid=inside] a[data-wnid="${DOG}"]`).click();
    await page.waitForURL(`**/c/${DOG}`);
    const crumbs = (await page.locator('.breadcrumb').textContent()) ?? '';
    assert.match(crumbs, /entity.*animal.*canine/);
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    // Infinite scroll: keep scrolling until every dog photo is in the grid (pages of 48).
    const dogs = server.alice.filter((p) => isDogClass(p.classIndex)).length;
    const expected = (await apiGet<{ count: number }>(`/v1/synsets/${DOG}`)).count;
    assert.ok(expected >= dogs * 0.9, `dog count ${expected} vs ${dogs} dog photos ingested`);
    for (let i = 0; i < 10; i++) {
      const shown = await page.locator('[data-testid=photo-grid] .tile').count();
      if (shown >= expected) break;
      await page.mouse.wheel(0, 20_000);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=photo-grid] .tile').length > n, shown, { timeout: 15_000 });
    }
    assert.equal(await page.locator('[data-testid=photo-grid] .tile').count(), expected);
    // Grids show lazy 256 px thumbnails, never originals.
    const imgs = await page.locator('[data-testid=photo-grid] img').evaluateAll((els) =>
      els.map((e) => ({ src: e.getAttribute('src') ?? '', loading: e.getAttribute('loading') })),
    );
    for (const img of imgs) {
      assert.match(img.src, /\/v1\/photos\/[^/]+\/thumbnail\?size=256$/);
      assert.equal(img.loading, 'lazy');
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await capture('category-dog');

    await page.locator('[data-testid=photo-grid] .tile').first().click();
    await page.waitForURL('**/p/*');
    const photoId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    await page.locator('[data-testid=labels] .bar-row').first().waitFor();
    assert.ok((await page.locator('[data-testid=labels] .bar-row').count()) >= 1);
    assert.match((await page.locator('.photo-figure img').getAttribute('src')) ?? '', /thumbnail\?size=1024$/);
    // The hedged label and its path up to entity ("kuvasz -> watchdog -> working dog -> dog -> ... -> entity").
    const shown = await apiGet<{ hedged: { name: string } | null; path: Array<{ name: string }> }>(`/v1/photos/${photoId}`);
    if (shown.hedged) {
      const pathText = (await page.getByTestId('hedged-path').textContent()) ?? '';
      assert.equal(pathText, shown.path.map((s) => s.name).join(' → '));
      assert.match(pathText, /\bdog → .*→ entity$/);
      assert.equal(await page.locator('.hedged h1').textContent(), shown.hedged.name);
    }
    await capture('photo');

    await page.getByRole('button', { name: 'No', exact: true }).click();
    await page.locator('input[name=concept]').fill('beag');
    await page.locator(`.suggestion[data-wnid="${BEAGLE}"]`).click();
    const stored = page.getByTestId('feedback-stored');
    await stored.waitFor();
    assert.match((await stored.textContent()) ?? '', /wrong.*beagle/i);
    await screenshot(page, 'photo-feedback-1440');

    const detail = await apiGet<{ feedback: Array<{ correct: boolean; wnid: string | null; owner: string }> }>(`/v1/photos/${photoId}`);
    const last = detail.feedback[detail.feedback.length - 1];
    assert.deepEqual({ correct: last?.correct, wnid: last?.wnid, owner: last?.owner }, { correct: false, wnid: BEAGLE, owner: 'alice' });

    // The stored answer is what the page shows after a reload, too; it can be changed to "right".
    await page.reload();
    await page.getByTestId('feedback-stored').waitFor();
    assert.match((await page.getByTestId('feedback-stored').textContent()) ?? '', /wrong.*beagle/i);
    await page.getByRole('button', { name: 'Change answer' }).click();
    await page.getByRole('button', { name: 'Yes', exact: true }).click();
    await page.getByTestId('feedback-stored').filter({ hasText: /right/ }).waitFor();
    const after = await apiGet<{ feedback: Array<{ correct: boolean }> }>(`/v1/photos/${photoId}`);
    assert.equal(after.feedback[after.feedback.length - 1]?.correct, true);
  });

  test("a person's page: a treemap of the top 4 categories with areas following the counts", async () => {
    await open('/u/alice');
    const cells = page.locator('[data-testid=treemap] .cell');
    await cells.first().waitFor();
    assert.equal(await cells.count(), 4);
    const profile = await apiGet<{ top_categories: Array<{ wnid: string; name: string; count: number }> }>('/v1/owners/alice/profile');
    const top4 = [...profile.top_categories].sort((a, b) => b.count - a.count).slice(0, 4);
    const measured: Array<{ area: number; count: number }> = [];
    for (let i = 0; i < 4; i++) {
      const cell = cells.nth(i);
      const wnid = (await cell.getAttribute('data-wnid')) ?? '';
      const want = top4.find((c) => c.wnid === wnid);
      assert.ok(want, `cell ${wnid} is one of alice's top 4 categories`);
      const text = (await cell.textContent()) ?? '';
      assert.ok(text.includes(want.name) && text.includes(String(want.count)), `cell label "${text}" names ${want.name} and ${want.count}`);
      // Each cell is a mosaic of the category's photos.
      const srcs = await cell.locator('img').evaluateAll((els) => els.map((e) => e.getAttribute('src') ?? ''));
      assert.ok(srcs.length >= 1 && srcs.every((src) => /thumbnail\?size=256$/.test(src)), `cell photos: ${srcs.join(' ')}`);
      const box = await cell.boundingBox();
      assert.ok(box);
      measured.push({ area: box.width * box.height, count: want.count });
    }
    const totalArea = measured.reduce((s, m) => s + m.area, 0);
    const totalCount = measured.reduce((s, m) => s + m.count, 0);
    for (const m of measured) {
      const share = m.area / totalArea;
      const want = m.count / totalCount;
      assert.ok(Math.abs(share - want) < 0.01, `area share ${share.toFixed(4)} vs count share ${want.toFixed(4)}`);
    }
    const box = await page.getByTestId('treemap').boundingBox();
    assert.ok(box && Math.abs(totalArea - box.width * box.height) / (box.width * box.height) < 0.01, 'cells fill the treemap');
    await capture('person');

    if (profile.top_categories.filter((c) => c.count > 0).length > 4) {
      await page.locator('button.toggle').click();
      assert.ok((await cells.count()) > 4, 'the toggle shows more categories');
      await page.locator('button.toggle').click();
      assert.equal(await cells.count(), 4);
    }
    // Drill in: a cell leads to that category, filtered to alice's photos.
    const wnid = (await cells.first().getAttribute('data-wnid')) ?? '';
    const cellCount = Number(await cells.first().getAttribute('data-count'));
    await cells.first().click();
    await page.waitForURL(`**/c/${wnid}?owner=alice`);
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    assert.match((await page.locator('.filter').textContent()) ?? '', /alice/);
    await page.locator('h1 .count').waitFor();
    assert.equal(Number(await page.locator('h1 .count').textContent()), cellCount, "the page counts alice's photos only");
    await page.waitForLoadState('networkidle');
    const tiles = await page.locator('[data-testid=photo-grid] .tile').count();
    assert.ok(tiles >= Math.min(48, cellCount) && tiles <= cellCount, `${tiles} tiles for ${cellCount} photos`);
  });

  test('compare two people side by side', async () => {
    await open('/compare');
    await page.getByLabel('First').selectOption('alice');
    await page.getByLabel('Second').selectOption('bob');
    await page.waitForURL('**/compare?a=alice&b=bob');
    await page.getByTestId('more-a').locator('.pair').first().waitFor();
    const aMore = (await page.getByTestId('more-a').textContent()) ?? '';
    const bMore = (await page.getByTestId('more-b').textContent()) ?? '';
    assert.match(aMore, /alice photographs more/);
    assert.match(aMore, /dog|canine|mammal|animal/i);
    assert.match(bMore, /bob photographs more/);
    assert.doesNotMatch(bMore, /\bdog\b/i);
    await page.getByTestId('shared').waitFor();
    // Side by side at 1440 px.
    const a = await page.getByTestId('more-a').boundingBox();
    const b = await page.getByTestId('more-b').boundingBox();
    assert.ok(a && b && Math.abs(a.y - b.y) < 2 && b.x > a.x + a.width - 1, 'the two columns sit side by side');
    await capture('compare');
  });

  test('search "puppy" and reach dog photos', async () => {
    await open('/');
    await page.locator('.hero input[type=search]').fill('puppy');
    await page.locator('.hero input[type=search]').press('Enter');
    await page.waitForURL('**/search?q=puppy');
    await page.getByTestId('synsets').locator('li').first().waitFor();
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    await capture('search');
    const dogIds = new Set(
      (await apiGet<{ photos: Array<{ id: string | number }> }>(`/v1/photos?under=${DOG}&limit=200`)).photos.map((p) => String(p.id)),
    );
    const hrefs = await page.locator('[data-testid=photo-grid] .tile').evaluateAll((els) => els.map((e) => e.getAttribute('href') ?? ''));
    assert.ok(hrefs.length > 0);
    const ids = hrefs.map((h) => decodeURIComponent(h.split('/').pop() ?? ''));
    assert.ok(ids.every((id) => dogIds.has(id)), 'every photo found for "puppy" is a dog photo');
    await page.locator(`[data-testid=synsets] a[data-wnid="${DOG}"]`).click();
    await page.waitForURL(`**/c/${DOG}`);
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
  });

  test('tags hang under their synsets: the dog page shows the "dog" tag; its page lists the tagged photos', async () => {
    const tag = await apiGet<{ count: number; synset: { wnid: string } }>('/v1/tags/dog');
    assert.equal(tag.synset.wnid, DOG);
    assert.ok(tag.count > 0, 'dog photos are tagged dog');
    await open(`/c/${DOG}`);
    const chip = page.locator('[data-testid=tags] a[data-tag="dog"]');
    await chip.waitFor();
    assert.match((await chip.textContent()) ?? '', new RegExp(`dog\\s*${tag.count}`));
    await chip.click();
    await page.waitForURL('**/t/dog');
    await page.locator('[data-testid=photo-grid] .tile').first().waitFor();
    assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(`dog\\s*${tag.count}`));
    assert.match((await page.locator('.breadcrumb').textContent()) ?? '', /entity.*animal.*dog.*dog/);
    assert.match((await page.locator('.gloss').textContent()) ?? '', /Photos tagged “dog”, a kind of dog/);
    for (let i = 0; i < 10; i++) {
      const shown = await page.locator('[data-testid=photo-grid] .tile').count();
      if (shown >= tag.count) break;
      await page.mouse.wheel(0, 20_000);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=photo-grid] .tile').length > n, shown, { timeout: 15_000 });
    }
    assert.equal(await page.locator('[data-testid=photo-grid] .tile').count(), tag.count, 'every tagged photo, as many as the count says');
  });

  test('upload: classify on the spot, add to the library, and clear errors', async () => {
    await open('/upload');
    const input = page.locator('input[type=file]');
    const dog = server.alice.find((p) => isDogClass(p.classIndex));
    assert.ok(dog);
    await input.setInputFiles(dog.file);
    const item = page.getByTestId('upload-item').first();
    await page.locator('[data-testid=upload-item][data-state=done]').first().waitFor();
    const bars = item.locator('[data-testid=upload-labels] .bar-row');
    assert.equal(await bars.count(), 5);
    const classified = (await fetch(`${server.url}/v1/classify?top=5`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: readFileSync(dog.file),
    }).then((r) => r.json())) as { concepts: Array<{ name: string }> };
    assert.match((await bars.first().textContent()) ?? '', new RegExp(classified.concepts[0].name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

    // Drag and drop works the same as the file input.
    const before0 = await page.getByTestId('upload-item').count();
    await page.getByTestId('dropzone').evaluate((zone, b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.jpg', { type: 'image/jpeg' }));
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, readFileSync(dog.file).toString('base64'));
    await page.getByTestId('upload-item').nth(before0).waitFor();
    const dropped = page.getByTestId('upload-item').first();
    assert.match((await dropped.locator('.file-name').textContent()) ?? '', /dropped\.jpg/);
    await page.locator('[data-testid=upload-item][data-state=done]').nth(1).waitFor();
    assert.equal(await dropped.locator('[data-testid=upload-labels] .bar-row').count(), 5);

    // Clear errors: not an image (caught here) and an undecodable image (the server's reason).
    await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.locator('[data-testid=upload-item][data-state=failed]').first().waitFor();
    assert.match((await page.getByTestId('upload-item').first().locator('.error').textContent()) ?? '', /Not an image/);
    await input.setInputFiles({ name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not really a jpeg') });
    await page.locator('[data-testid=upload-item][data-state=failed]').nth(1).waitFor();
    assert.equal(await page.getByTestId('upload-item').first().locator('.file-name').textContent(), 'broken.jpg');
    const reason = (await page.getByTestId('upload-item').first().locator('.error').textContent()) ?? '';
    assert.ok(reason.length > 10 && !/\/tmp\/|\/work\//.test(reason), `clear error without paths: ${reason}`);
    await capture('upload');

    // Add to my library (signed in as alice), public.
    const before = (await apiGet<{ owners: Array<{ name: string; photos: number }> }>('/v1/owners')).owners.find((o) => o.name === 'alice')?.photos ?? 0;
    await page.locator('input[name=mode][value=library]').check();
    await page.getByLabel('Visibility').selectOption('public');
    const extra = server.bob[0];
    await input.setInputFiles(extra.file);
    await page.locator('[data-testid=upload-item]').first().locator('a[href^="/p/"]').first().waitFor();
    assert.equal(await page.getByTestId('upload-item').first().getAttribute('data-state'), 'done');
    const link = (await page.getByTestId('upload-item').first().locator('a[href^="/p/"]').first().getAttribute('href')) ?? '';
    const added = await apiGet<{ owner: string; visibility: string }>(`/v1/photos/${link.split('/').pop()}`);
    assert.deepEqual({ owner: added.owner, visibility: added.visibility }, { owner: 'alice', visibility: 'public' });
    const afterCount = (await apiGet<{ owners: Array<{ name: string; photos: number }> }>('/v1/owners')).owners.find((o) => o.name === 'alice')?.photos ?? 0;
    assert.equal(afterCount, before + 1);
    await screenshot(page, 'upload-library-1440');
  });

  test('the app is served with a Content-Security-Policy it keeps (no refusals above), nosniff, never framed', async () => {
    for (const path of ['/', '/c/n02084071', '/docs']) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'|default-src/, path);
    }
    const app = await fetch(server.url + '/');
    assert.match(app.headers.get('content-security-policy') ?? '', /script-src 'self'.*frame-ancestors 'none'|frame-ancestors 'none'/);
    // The API docs page renders under its own policy.
    const docs = await chrome.newPage(1024, 700);
    try {
      const docErrors = watchErrors(docs);
      await docs.goto(server.url + '/docs');
      await docs.locator('.swagger-ui .info .title').first().waitFor({ timeout: 15_000 });
      assert.deepEqual(docErrors, []);
    } finally {
      await docs.close();
    }
  });

  test('no script errors on any page', () => {
    assert.deepEqual(errors, []);
  });
});
