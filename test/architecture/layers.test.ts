// Imports point one way: vision <- taxonomy <- concepts <- library <- jobs <- server / cli. A module may import its own layer and the
// layers below it, never one above (the web app talks to the server over HTTP only).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/env.js';

const rank: Record<string, number> = { config: 0, vision: 1, taxonomy: 2, concepts: 2.5, library: 3, jobs: 4, server: 5, cli: 6 };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
  });
}

test('no module imports a layer above its own', () => {
  const src = join(repoRoot, 'src');
  const wrong: string[] = [];
  for (const file of files(src)) {
    const layer = relative(src, file).split('/')[0]!;
    if (layer === 'web') continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = relative(src, resolve(dirname(file), m[1]!)).split('/')[0]!;
      if (target === 'web' || (rank[target] ?? -1) > (rank[layer] ?? -1)) wrong.push(`${relative(repoRoot, file)} -> ${m[1]}`);
    }
  }
  assert.deepEqual(wrong, []);
});
