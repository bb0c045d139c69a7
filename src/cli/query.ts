// Library queries on the command line: categories, profile, compare, search, similar, stats (each with --json).
// They speak the web app's everyday words (Dog, Food, Vehicle); `--wordnet` adds the WordNet synsets behind them.
import type { Command } from 'commander';
import { consumerCategoryCounts } from '../server/consumer-categories.js';
import { readCategoryFile } from '../taxonomy/categories.js';
import { readEverydayWords } from '../taxonomy/everyday-words.js';
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
  wordnet?: boolean;
}

/** The everyday categories' parents (Dog -> Mammal -> Animal), from the editable categories file. */
function categoryParents(): (id: string) => string | undefined {
  const parents = new Map(readCategoryFile().categories.map((c) => [c.id, c.parent]));
  return (id) => parents.get(id);
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
  out.push(n.tag !== undefined ? `${'  '.repeat(depth)}#${n.name ?? n.tag} (tag ${n.tag}): ${n.count}` : `${'  '.repeat(depth)}${n.name ?? n.wnid} (${n.wnid}): ${n.count}`);
  if (depth >= maxDepth) return;
  for (const c of n.children) treeLines(c, depth + 1, maxDepth, out);
}

export function register(program: Command): void {
  const asOption = ['--as <owner>', 'see what this owner may see (default: everything, as the local admin)'] as const;

  program
    .command('categories')
    .description('how many photos fall in each everyday category (Dog, Food...); --wordnet: under each synset, as a tree')
    .option('--owner <name>', "only this owner's photos")
    .option('--min <score>', 'smallest score that counts a photo under a synset (--wordnet tree)', '0.5')
    .option('--depth <n>', 'levels of the tree to print (--wordnet)', '6')
    .option('--wordnet', 'also print the WordNet synset tree')
    .option(...asOption)
    .option('--json', 'print JSON (everyday categories and the synset tree)')
    .action((o: Common & { owner?: string; min: string; depth: string }) =>
      withSession(
        o,
        async (s) => {
          const everyday = await consumerCategoryCounts(s.lib.db, s.viewer, { owner: o.owner });
          const tree = await categoryCounts(s.lib.db, s.viewer, { owner: o.owner, minScore: Number(o.min), taxonomy: await s.taxonomy() });
          return { ...tree, categories: everyday.map(({ coverPhotoId: _cover, ...c }) => c) };
        },
        (r: Awaited<ReturnType<typeof categoryCounts>> & { categories: Array<{ id: string; name: string; wnid: string; count: number }> }) => {
          const parentOf = categoryParents();
          const listed = new Set(r.categories.map((c) => c.id));
          const depth = (id: string) => {
            let d = 0;
            for (let p = parentOf(id); p !== undefined; p = parentOf(p)) if (listed.has(p)) d++;
            return d;
          };
          const lines = [`${r.photos} photos`];
          for (const c of r.categories) lines.push(`${'  '.repeat(depth(c.id))}${c.name}: ${c.count}`);
          if (r.tags.length > 0) lines.push(`tags: ${r.tags.map((t) => `${t.name} ${t.count}`).join(', ')}`);
          if (o.wordnet && r.tree) {
            lines.push('', 'WordNet synsets:');
            treeLines(r.tree, 0, Number(o.depth), lines);
          }
          return lines.join('\n') + '\n';
        },
      ),
    );

  program
    .command('profile')
    .description("an owner's profile: summed node scores over their photos and their top categories")
    .argument('<owner>')
    .option('--top <n>', 'how many synsets and categories', '10')
    .option('--wordnet', 'also print the most telling WordNet synsets')
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
            p.photos === 0 ? `no photos of ${p.owner}'s that you can see` : 'photographs most: ' + p.topCategories.map((c) => `${c.name} ${pct(c.mean)}`).join(', '),
            ...(p.topTags.length > 0 ? ['tags: ' + p.topTags.map((t) => `${t.name} ${t.count} (${pct(t.mean)})`).join(', ')] : []),
            ...(o.wordnet ? ['WordNet synsets: ' + p.topSynsets.map((c) => `${c.name ?? c.wnid} ${pct(c.value)}`).join(', ')] : []),
          ].join('\n') + '\n',
      ),
    );

  program
    .command('compare')
    .description('compare two owners: shared interests, and what each photographs more than the other')
    .argument('<a>')
    .argument('<b>')
    .option('--top <n>', 'how many categories (and synsets) per list', '10')
    .option('--wordnet', 'also compare in WordNet synsets')
    .option(...asOption)
    .option('--json', 'print JSON')
    .action((a: string, b: string, o: Common & { top: string }) =>
      withSession(
        o,
        async (s) => compareOwners(s.lib.db, s.viewer, a, b, { taxonomy: await s.taxonomy(), top: Number(o.top), categoryParent: categoryParents() }),
        (c: Awaited<ReturnType<typeof compareOwners>>) => {
          const header = `${c.a.owner} (${c.a.photos} photos) vs ${c.b.owner} (${c.b.photos} photos)`;
          const empty = [c.a, c.b].filter((x) => x.photos === 0).map((x) => x.owner);
          if (empty.length > 0) return `${header}\n${empty.join(' and ')}: no photos you can see, so there is nothing to compare\n`;
          const share = (x: { name: string; a: number; b: number }) => `${x.name} ${pct(x.a)} vs ${pct(x.b)}`;
          const none = (list: string[]) => (list.length > 0 ? list.join(', ') : 'nothing stands out');
          return (
            [
              `${header}, similarity ${c.similarity.toFixed(3)}`,
              `both photograph: ${none(c.categories.shared.map(share))}`,
              `${c.a.owner} photographs more: ${none(c.categories.moreA.map(share))}`,
              `${c.b.owner} photographs more: ${none(c.categories.moreB.map(share))}`,
              `tags, both: ${none(c.tags.shared.map(share))}`,
              `tags, more ${c.a.owner}: ${none(c.tags.moreA.map(share))}`,
              `tags, more ${c.b.owner}: ${none(c.tags.moreB.map(share))}`,
              ...(o.wordnet
                ? [
                    'WordNet synsets, both: ' + c.shared.map((x) => `${x.name ?? x.wnid} ${pct(x.value)}`).join(', '),
                    `WordNet synsets, more ${c.a.owner}: ` + c.moreA.map((x) => `${x.name ?? x.wnid} +${pct(x.value)}`).join(', '),
                    `WordNet synsets, more ${c.b.owner}: ` + c.moreB.map((x) => `${x.name ?? x.wnid} +${pct(x.value)}`).join(', '),
                  ]
                : []),
            ].join('\n') + '\n'
          );
        },
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
          const r = await searchPhotos(s.lib.db, s.viewer, words.join(' '), {
            taxonomy: await s.taxonomy(),
            owner: o.owner,
            limit: parseLimit(o.limit, 50),
            aliases: readEverydayWords(),
          });
          return { ...r, photos: r.photos.map(photoRecord) };
        },
        (r: {
          query: string;
          synsets: { wnid: string; name?: string }[];
          senses: { wnid: string; name?: string; hint?: string }[];
          unknown: string[];
          tags: Array<{ id: string; name: string }>;
          photos: ReturnType<typeof photoRecord>[];
        }) =>
          [
            `"${r.query}" -> ${r.synsets.map((x) => `${x.name ?? x.wnid} (${x.wnid})`).join(', ') || 'no synsets'}`,
            ...(r.senses.length > 0 ? [`did you mean: ${r.senses.map((x) => `${x.name ?? x.wnid} (a ${x.hint ?? 'concept'}, ${x.wnid})`).join(' or ')}`] : []),
            ...(r.unknown.length > 0 ? [`the model has no concept for: ${r.unknown.join(', ')}`] : []),
            ...(r.tags.length > 0 ? [`tags: ${r.tags.map((t) => `${t.name} (${t.id})`).join(', ')}`] : []),
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
