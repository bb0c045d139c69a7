// The web app's pure parts (treemap layout, URL scheme) and its type-check, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { repoRoot } from '../support/env.js';
import { layoutTreemap, mosaicGrid } from '../../src/web/app/treemap.js';
import { href, matchRoute } from '../../src/web/app/routes.js';

test('treemap cells tile the box with areas proportional to counts', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 50, max: 2000 }),
      fc.integer({ min: 50, max: 1200 }),
      (counts, width, height) => {
        const cells = layoutTreemap(counts, (c) => c, width, height);
        assert.equal(cells.length, counts.length);
        const total = counts.reduce((s, c) => s + c, 0);
        let area = 0;
        for (const cell of cells) {
          const a = cell.width * cell.height;
          area += a;
          assert.ok(Math.abs(a / (width * height) - cell.item / total) < 1e-6);
          assert.ok(cell.x >= -1e-6 && cell.y >= -1e-6 && cell.x + cell.width <= width + 1e-6 && cell.y + cell.height <= height + 1e-6);
        }
        assert.ok(Math.abs(area - width * height) < 1e-6 * width * height);
      },
    ),
  );
});

test('a cell mosaic never has more tiles than photos, fills a big cell, and keeps tiles near square', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 0, max: 60 }), (w, h, n) => {
      const { cols, rows } = mosaicGrid(w, h, n);
      assert.ok(cols >= 1 && rows >= 1);
      assert.ok(cols * rows <= Math.max(1, n), `${cols}x${rows} for ${n} photos`);
      // With photos to spare, the grid is what fits at ~150 px a tile.
      if (n >= 200) assert.deepEqual({ cols, rows }, { cols: Math.max(1, Math.round(w / 150)), rows: Math.max(1, Math.round(h / 150)) });
    }),
  );
  assert.deepEqual(mosaicGrid(600, 300, 9), { cols: 4, rows: 2 });
  assert.deepEqual(mosaicGrid(600, 300, 4), { cols: 2, rows: 2 });
  assert.deepEqual(mosaicGrid(300, 600, 3), { cols: 1, rows: 3 });
  assert.deepEqual(mosaicGrid(600, 300, 1), { cols: 1, rows: 1 });
});

test('treemap drops empty categories and empty boxes', () => {
  assert.deepEqual(layoutTreemap([0, -1], (c) => c, 100, 100), []);
  assert.deepEqual(layoutTreemap([3], (c) => c, 0, 100), []);
  const [only] = layoutTreemap([{ n: 5 }], (c) => c.n, 300, 200);
  assert.deepEqual({ x: only.x, y: only.y, w: only.width, h: only.height }, { x: 0, y: 0, w: 300, h: 200 });
});

test('routes match the links the app makes', () => {
  assert.deepEqual(matchRoute('/', ''), { page: 'home' });
  const cat = new URL(href.category('n02084071', 'alice bob'), 'http://x');
  assert.deepEqual(matchRoute(cat.pathname, cat.search), { page: 'category', wnid: 'n02084071', owner: 'alice bob' });
  assert.deepEqual(matchRoute(href.photo(42), ''), { page: 'photo', id: '42' });
  assert.deepEqual(matchRoute(href.person('Zoë'), ''), { page: 'person', name: 'Zoë' });
  const cmp = new URL(href.compare('a', 'b'), 'http://x');
  assert.deepEqual(matchRoute(cmp.pathname, cmp.search), { page: 'compare', a: 'a', b: 'b' });
  const search = new URL(href.search('red wine'), 'http://x');
  assert.deepEqual(matchRoute(search.pathname, search.search), { page: 'search', q: 'red wine' });
  assert.deepEqual(matchRoute('/upload', ''), { page: 'upload' });
  assert.deepEqual(matchRoute(href.teach(), ''), { page: 'teach' });
  assert.equal(matchRoute('/nope/x/y', '').page, 'not-found');
});

test('the web app type-checks (strict, Preact JSX)', () => {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'src', 'web', 'app', 'tsconfig.json')], { stdio: 'pipe' });
});

test('descendantsOf finds what lies under a node of the category tree', async () => {
  const { descendantsOf } = await import('../../src/web/app/categoryIndex.js');
  const leaf = (wnid: string) => ({ wnid, name: wnid, count: 1, children: [] });
  const root = {
    wnid: 'entity', name: 'entity', count: 3,
    children: [{ wnid: 'animal', name: 'animal', count: 2, children: [{ wnid: 'dog', name: 'dog', count: 2, children: [leaf('beagle'), leaf('pug')] }] }, leaf('car')],
  };
  assert.deepEqual([...descendantsOf(root, 'animal')].sort(), ['beagle', 'dog', 'pug']);
  assert.deepEqual([...descendantsOf(root, 'pug')], []);
  assert.deepEqual([...descendantsOf(root, 'nothing')], []);
  assert.equal(descendantsOf(root, 'entity').size, 5);
});

test('hierarchyOutline skips single-child chains and lists each branch with its largest branches', async () => {
  const { hierarchyOutline } = await import('../../src/web/app/categoryIndex.js');
  const n = (wnid: string, count: number, children: Array<ReturnType<typeof n>> = []): { wnid: string; name: string; count: number; children: Array<ReturnType<typeof n>> } =>
    ({ wnid, name: wnid, count, children });
  const root = n('entity', 10, [
    n('whole', 10, [
      n('living thing', 7, [n('organism', 7, [n('animal', 7, [n('dog', 5, [n('beagle', 5)]), n('cat', 2)])])]),
      n('artifact', 3, [n('car', 1), n('chair', 2)]),
    ]),
  ]);
  const outline = hierarchyOutline(root);
  assert.deepEqual(
    outline.map((e) => [e.node.wnid, e.children.map((c) => c.wnid)]),
    [
      ['animal', ['beagle', 'cat']],
      ['artifact', ['chair', 'car']],
    ],
  );
  assert.deepEqual(hierarchyOutline(n('entity', 0)), []);
});
