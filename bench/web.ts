// Web benchmark: time to first screen (first 12 thumbnails loaded) of a category page over 10,000 photos,
// in headless Chromium against a real server on 127.0.0.1.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tempHome } from '../test/support/env.js';
import { launchChromium } from '../test/web/support/browser.js';
import { calibPhotos, ensureWebBuild, isAnimalClass } from '../test/web/support/seeded-server.js';
import { Engine } from '../src/vision/engine.js';
import { loadTaxonomy } from '../src/taxonomy/analysis.js';
import { openLibrary } from '../src/library/db.js';
import { ingestFiles } from '../src/library/ingest.js';
import { createServer } from '../src/server/app.js';

const ANIMAL = 'n00015388';

export interface WebBenchOptions {
  /** Photos under the category page (distinct photos x owners). */
  photos?: number;
  /** Distinct calib photos reused under each owner. */
  distinct?: number;
  /** Page loads measured (each in a fresh tab; the first one with a cold browser cache). */
  runs?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function benchWeb(opts: WebBenchOptions = {}): Promise<Record<string, unknown>> {
  const total = opts.photos ?? 10_000;
  const distinct = opts.distinct ?? 100;
  const runs = opts.runs ?? 7;
  const webRoot = await ensureWebBuild();
  const home = tempHome('pictograph-bench-web-');
  const lib = await openLibrary({ env: home.env });
  const engine = await Engine.load({ env: home.env });
  const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
  const app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { logger: false, webRoot } });
  const chrome = await launchChromium();
  try {
    // Seed: `distinct` animal photos classified once, then reused (analysis copied) under many owners.
    const files = calibPhotos().filter((p) => isAnimalClass(p.classIndex)).slice(0, distinct).map((p) => p.file);
    const recognizer = app.pictograph.runtime.recognizer();
    const underAnimal = async () => (await app.inject({ method: 'GET', url: `/v1/synsets/${ANIMAL}` })).json<{ count: number }>().count;
    const t0 = performance.now();
    let owners = 0;
    // Each owner adds the same photos; the few the model places outside `animal` do not count, so keep adding
    // owners until the category holds `total` photos.
    for (let count = 0; count < total; count = await underAnimal()) {
      const s = await ingestFiles(files, { owner: `owner${String(owners++).padStart(3, '0')}`, visibility: 'public', recognizer, db: lib.db, env: home.env });
      if (s.failed > 0) throw new Error(`seeding failed: ${JSON.stringify(s.errors.slice(0, 2))}`);
    }
    const seedSeconds = (performance.now() - t0) / 1000;

    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    const base = `http://127.0.0.1:${address.port}`;
    const synset = (await (await fetch(`${base}/v1/synsets/${ANIMAL}`)).json()) as { count: number };

    // API alone: the first page of the grid.
    const apiMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      const res = await fetch(`${base}/v1/photos?under=${ANIMAL}&limit=48`);
      await res.arrayBuffer();
      apiMs.push(performance.now() - s);
    }

    // Browser: navigation start -> the first 12 grid thumbnails decoded, at 1440x900.
    const firstScreen: number[] = [];
    const requestMs = new Map<string, number[]>();
    for (let i = 0; i < runs; i++) {
      const page = await chrome.newPage(1440, 900);
      await page.goto(`${base}/c/${ANIMAL}`, { waitUntil: 'commit' });
      const ms = await page.waitForFunction(
        () => {
          const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid=photo-grid] img')).slice(0, 12);
          return imgs.length === 12 && imgs.every((img) => img.complete && img.naturalWidth > 0) ? performance.now() : false;
        },
        undefined,
        { polling: 'raf', timeout: 30_000 },
      );
      firstScreen.push(Number(await ms.jsonValue()));
      // Where the time went: API requests by endpoint (thumbnails pooled), from the page's resource timings.
      const entries = await page.evaluate(() =>
        performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd })),
      );
      for (const e of entries) {
        const path = new URL(e.name).pathname;
        if (!path.startsWith('/v1/')) continue;
        const key = /\/thumbnail$/.test(path) ? 'thumbnail' : path.replace(/\/photos\/\d+/, '/photos/:id').replace(/n\d{8}/, ':wnid');
        requestMs.set(key, [...(requestMs.get(key) ?? []), e.end - e.start]);
      }
      await page.close();
    }
    const warm = firstScreen.slice(1).sort((a, b) => a - b);
    apiMs.sort((a, b) => a - b);
    return {
      photos_under_category: synset.count,
      owners,
      seed_seconds: seedSeconds,
      first_screen_cold_ms: firstScreen[0],
      first_screen_p50_ms: quantile(warm, 0.5),
      first_screen_max_ms: warm[warm.length - 1],
      api_first_page_p50_ms: quantile(apiMs, 0.5),
      api_first_page_p95_ms: quantile(apiMs, 0.95),
      runs,
      viewport: '1440x900',
      first_screen_runs_ms: firstScreen,
      request_p50_ms: Object.fromEntries(
        [...requestMs].map(([k, v]) => [k, Math.round(quantile([...v].sort((a, b) => a - b), 0.5) * 10) / 10]),
      ),
    };
  } finally {
    await chrome.close();
    await app.close();
    await engine.close();
    await lib.close();
    home.cleanup();
  }
}

// `node --import tsx bench/web.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith(join('bench', 'web.ts'))) {
  const report = await benchWeb();
  console.log(JSON.stringify(report, null, 2));
}
