// `pictograph photos [--owner NAME] [--under WNID]`: a page of stored photos, best first under a synset.
import type { Command } from 'commander';
import { listPhotos, type PhotoSummary } from '../library/photos.js';
import { openSession } from '../library/session.js';

/** One photo as `photos --json` prints it. */
export function photoRecord(p: PhotoSummary) {
  return {
    id: p.id,
    owner: p.owner,
    file: p.originalPath,
    visibility: p.visibility,
    hedged: p.hedged,
    labels: p.labels,
    ...(p.score !== undefined ? { score: p.score } : {}),
  };
}

export function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`--limit must be a whole number, not ${JSON.stringify(text)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('photos')
    .description('list stored photos: all, or those under a synset (descendants included), best first')
    .option('--owner <name>', "only this owner's photos")
    .option('--under <wnid>', 'only photos under this synset, e.g. n02084071 (dog)')
    .option('--limit <n>', 'photos per page (1-500)', '50')
    .option('--cursor <c>', 'continue after a previous page (printed on stderr)')
    .option('--as <owner>', 'see what this owner may see (default: everything, as the local admin)')
    .option('--json', 'one JSON object per line per photo')
    .action(async (o: { owner?: string; under?: string; limit?: string; cursor?: string; as?: string; json?: boolean }) => {
      const s = await openSession({ as: o.as });
      try {
        const page = await listPhotos(s.lib.db, s.viewer, {
          owner: o.owner,
          under: o.under,
          limit: parseLimit(o.limit, 50),
          cursor: o.cursor,
          taxonomy: o.under ? await s.taxonomy() : undefined,
        });
        for (const p of page.photos) {
          if (o.json) process.stdout.write(JSON.stringify(photoRecord(p)) + '\n');
          else {
            const label = p.hedged ? `${p.hedged.name} (${(p.hedged.score * 100).toFixed(0)}%)` : (p.labels[0]?.name ?? '');
            const score = p.score !== undefined ? `${p.score.toFixed(3)}  ` : '';
            process.stdout.write(`${String(p.id).padStart(6)}  ${score}${p.owner}  ${p.visibility.padEnd(7)}  ${label}  ${p.originalPath}\n`);
          }
        }
        if (page.nextCursor) process.stderr.write(`next page: --cursor ${page.nextCursor}\n`);
      } finally {
        await s.close();
      }
    });
}
