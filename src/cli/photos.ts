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

function photoLine(p: PhotoSummary): string {
  const label = p.hedged ? `${p.hedged.name} (${(p.hedged.score * 100).toFixed(0)}%)` : (p.labels[0]?.name ?? '');
  const score = p.score !== undefined ? `${p.score.toFixed(3)}  ` : '';
  return `${String(p.id).padStart(6)}  ${score}${p.owner}  ${p.visibility.padEnd(7)}  ${label}  ${p.originalPath}\n`;
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
    .option('--person <name>', 'only photos showing a person of that name (see `pictograph people`)')
    .option('--min-score <s>', 'with --under: only photos scoring at least this for the synset (0-1)')
    .option('--limit <n>', 'print one page of this many photos (1-500) and the cursor to the next (default: every photo)')
    .option('--cursor <c>', 'continue after a previous page (printed on stderr)')
    .option('--as <owner>', 'see what this owner may see (default: everything, as the local admin)')
    .option('--json', 'one JSON object per line per photo')
    .action(async (o: { owner?: string; under?: string; person?: string; minScore?: string; limit?: string; cursor?: string; as?: string; json?: boolean }) => {
      const s = await openSession({ as: o.as });
      try {
        // One page with --limit (and the cursor to the next on stderr); otherwise every photo, page by page.
        const paged = o.limit !== undefined;
        const taxonomy = o.under ? await s.taxonomy() : undefined;
        const minScore = o.minScore === undefined ? undefined : Number(o.minScore);
        if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new Error(`--min-score must be a number from 0 to 1, not ${JSON.stringify(o.minScore)}`);
        let cursor = o.cursor;
        for (;;) {
          const limit = paged ? parseLimit(o.limit, 50) : 500;
          const page = await listPhotos(s.lib.db, s.viewer, { owner: o.owner, under: o.under, person: o.person, minScore, limit, cursor, taxonomy });
          for (const p of page.photos) process.stdout.write(o.json ? JSON.stringify(photoRecord(p)) + '\n' : photoLine(p));
          if (!page.nextCursor) break;
          if (paged) {
            process.stderr.write(`next page: --cursor ${page.nextCursor}\n`);
            break;
          }
          cursor = page.nextCursor;
        }
      } finally {
        await s.close();
      }
    });
}
