// Library queries on the command line: categories, profile, compare, search, similar, stats (each with --json).
import type { Command } from 'commander';
import { categoryCounts, type CategoryNode } from '../library/categories.js';
import { similarPhotos } from '../library/photos.js';
import { SimilarIndex } from '../library/similar-index.js';
import { similarDir } from '../config/paths.js';
import { compareOwners, ownerProfile } from '../library/profile.js';
import { searchPhotos } from '../library/search.js';
import { openSession, type LibrarySession } from '../library/session.js';
import { libraryStats } from '../library/stats.js';
import { parseLimit, photoRecord } from './photos.js';

interface Common {
  as?: string;
  json?: boolean;
}

async function withSession(o: Common, run: (s: LibrarySession) => Promise<unknown>, human: (r: never) => string): Promise<void> {
  const s = await openSession({ as: o.as });
  try {
    const result = await run(s);
    process.stdout.write(o.json ? JSON.stringify(result) + '\n' : human(result as never));
  } finally {
    await s.close();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function treeLines(n: CategoryNode, depth: number, maxDepth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}${n.name ?? n.wnid} (${n.wnid}): ${n.count}`);
  if (depth >= maxDepth) return;
  for (const c of n.children) treeLines(c, depth + 1, maxDepth, out);
}

export function register(program: Command): void {
  const asOption = ['--as <owner>', 'see what this owner may see (default: everything, as the local admin)'] as const;

  program
    .command('categories')
    .description('how many photos fall under each synset (score >= --min), as a tree')
    .option('--owner <name>', "only this owner's photos")
    .option('--min <score>', 'smallest score that counts a photo under a synset', '0.5')
    .option('--depth <n>', 'levels of the tree to print', '6')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((o: Common & { owner?: string; min: string; depth: string }) =>
      withSession(
        o,
        async (s) => categoryCounts(s.lib.db, s.viewer, { owner: o.owner, minScore: Number(o.min), taxonomy: await s.taxonomy() }),
        (r: Awaited<ReturnType<typeof categoryCounts>>) => {
          const lines = [`${r.photos} photos`];
          if (r.tree) treeLines(r.tree, 0, Number(o.depth), lines);
          return lines.join('\n') + '\n';
        },
      ),
    );

  program
    .command('profile')
    .description("an owner's profile: summed node scores over their photos and their top categories")
    .argument('<owner>')
    .option('--top <n>', 'how many synsets and categories', '10')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((owner: string, o: Common & { top: string }) =>
      withSession(
        o,
        async (s) => {
          const p = await ownerProfile(s.lib.db, s.viewer, owner, { taxonomy: await s.taxonomy(), top: Number(o.top) });
          return o.json ? { ...p, nodes: p.nodes.slice(0, 200) } : p;
        },
        (p: Awaited<ReturnType<typeof ownerProfile>>) =>
          [
            `${p.owner}: ${p.photos} photos`,
            'top categories: ' + p.topCategories.map((c) => `${c.name} ${pct(c.mean)}`).join(', '),
            'most telling synsets: ' + p.topSynsets.map((c) => `${c.name ?? c.wnid} ${pct(c.value)}`).join(', '),
          ].join('\n') + '\n',
      ),
    );

  program
    .command('compare')
    .description('compare two owners: shared interests, and what each photographs more than the other')
    .argument('<a>')
    .argument('<b>')
    .option('--top <n>', 'how many synsets per list', '10')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((a: string, b: string, o: Common & { top: string }) =>
      withSession(
        o,
        async (s) => compareOwners(s.lib.db, s.viewer, a, b, { taxonomy: await s.taxonomy(), top: Number(o.top) }),
        (c: Awaited<ReturnType<typeof compareOwners>>) =>
          [
            `${c.a.owner} (${c.a.photos} photos) vs ${c.b.owner} (${c.b.photos} photos), similarity ${c.similarity.toFixed(3)}`,
            'both: ' + c.shared.map((x) => `${x.name ?? x.wnid} ${pct(x.value)}`).join(', '),
            `more ${c.a.owner}: ` + c.moreA.map((x) => `${x.name ?? x.wnid} +${pct(x.value)}`).join(', '),
            `more ${c.b.owner}: ` + c.moreB.map((x) => `${x.name ?? x.wnid} +${pct(x.value)}`).join(', '),
          ].join('\n') + '\n',
      ),
    );

  program
    .command('search')
    .description('find photos by words ("puppy", "seashore"), through WordNet lemmas and synonyms')
    .argument('<words...>')
    .option('--owner <name>', "only this owner's photos")
    .option('--limit <n>', 'most photos', '50')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((words: string[], o: Common & { owner?: string; limit?: string }) =>
      withSession(
        o,
        async (s) => {
          const r = await searchPhotos(s.lib.db, s.viewer, words.join(' '), { taxonomy: await s.taxonomy(), owner: o.owner, limit: parseLimit(o.limit, 50) });
          return { ...r, photos: r.photos.map(photoRecord) };
        },
        (r: { query: string; synsets: { wnid: string; name?: string }[]; photos: ReturnType<typeof photoRecord>[] }) =>
          [
            `"${r.query}" -> ${r.synsets.map((x) => `${x.name ?? x.wnid} (${x.wnid})`).join(', ') || 'no synsets'}`,
            ...r.photos.map((p) => `${String(p.id).padStart(6)}  ${(p.score ?? 0).toFixed(3)}  ${p.owner}  ${p.file}`),
          ].join('\n') + '\n',
      ),
    );

  program
    .command('similar')
    .description('photos that look most like a photo (embedding cosine)')
    .argument('<photo-id>')
    .option('--limit <n>', 'how many', '12')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((id: string, o: Common & { limit?: string }) =>
      withSession(
        o,
        async (s) => (await similarPhotos(s.lib.db, s.viewer, Number(id), { limit: parseLimit(o.limit, 12), index: new SimilarIndex(s.lib.db, { dir: similarDir() }) })).map((p) => ({ ...photoRecord(p), similarity: p.similarity })),
        (r: Array<ReturnType<typeof photoRecord> & { similarity: number }>) =>
          r.map((p) => `${String(p.id).padStart(6)}  ${p.similarity.toFixed(3)}  ${p.owner}  ${p.file}`).join('\n') + '\n',
      ),
    );

  program
    .command('stats')
    .description('photos, owners, failed files and per-model counts')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((o: Common) =>
      withSession(
        o,
        (s) => libraryStats(s.lib.db, s.viewer),
        (r: Awaited<ReturnType<typeof libraryStats>>) =>
          [`photos: ${r.photos}`, `owners: ${r.owners}`, `failed: ${r.failed}`, ...r.models.map((m) => `model ${m.id} (${m.sha256.slice(0, 12)}): ${m.photos}`)].join('\n') +
          '\n',
      ),
    );
}
