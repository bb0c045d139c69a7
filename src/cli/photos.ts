// `pictograph photos [--owner NAME] [--under WNID | --tag ID]`: a page of stored photos, best first under a synset or tag.
import { tagInfo } from '../library/tags.js';
import type { Command } from 'commander';
import { listPhotos, type PhotoSummary } from '../library/photos.js';
import { mediaDir } from '../config/paths.js';
import { deletePhoto } from '../library/people.js';
import { openSession } from '../library/session.js';
import { findOwnerId } from '../library/store.js';

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
  const photos = program
    .command('photos')
    .description('list stored photos: all, or those under a synset (descendants included), best first')
    .option('--owner <name>', "only this owner's photos")
    .option('--under <wnid>', 'only photos under this synset, e.g. n02084071 (dog)')
    .option('--tag <id>', 'only photos carrying this tag (an everyday concept such as beach, or OWNER/NAME), best first')
    .option('--person <name>', 'only photos showing a person of that name (see `pictograph people`)')
    .option('--min-score <s>', 'with --under: only photos scoring at least this for the synset (0-1)')
    .option('--limit <n>', 'print one page of this many photos (1-500) and the cursor to the next (default: every photo)')
    .option('--cursor <c>', 'continue after a previous page (printed on stderr)')
    .option('--as <owner>', 'see what this owner may see (default: everything, as the local admin)')
    .option('--json', 'one JSON object per line per photo')
    .action(async (o: { owner?: string; under?: string; tag?: string; person?: string; minScore?: string; limit?: string; cursor?: string; as?: string; json?: boolean }) => {
      const s = await openSession({ as: o.as });
      try {
        // One page with --limit (and the cursor to the next on stderr); otherwise every photo, page by page.
        const paged = o.limit !== undefined;
        const taxonomy = o.under ? await s.taxonomy() : undefined;
        const minScore = o.minScore === undefined ? undefined : Number(o.minScore);
        if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new Error(`--min-score must be a number from 0 to 1, not ${JSON.stringify(o.minScore)}`);
        if (o.tag !== undefined) await tagInfo(s.lib.db, s.viewer, o.tag); // unknown, or another owner's: not found
        let cursor = o.cursor;
        for (;;) {
          const limit = paged ? parseLimit(o.limit, 50) : 500;
          const page = await listPhotos(s.lib.db, s.viewer, { owner: o.owner, under: o.under, tag: o.tag, person: o.person, minScore, limit, cursor, taxonomy });
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
  photos
    .command('delete')
    .description("delete photos of an owner: analysis, faces, counts, and thumbnails and uploaded originals no other photo shares")
    .argument('<ids...>', 'photo ids (see `pictograph photos --owner NAME`)')
    .option('--json', 'one JSON object per photo')
    .action(async (ids: string[], opts: { json?: boolean }) => {
      // --owner (before or after `delete`) is the `photos` command's option.
      const o = { ...photos.opts<{ owner?: string; json?: boolean }>(), ...opts };
      if (o.owner === undefined) throw new Error('photos delete: --owner <name> is required');
      const s = await openSession({});
      try {
        const ownerId = await findOwnerId(s.lib.db, o.owner);
        if (ownerId === undefined) throw new Error(`no owner named ${o.owner}`);
        let failed = 0;
        for (const text of ids) {
          const id = Number(text);
          try {
            if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) throw Object.assign(new Error(`not a photo id: ${JSON.stringify(text)}`), { code: 'bad_id' });
            const { filesRemoved } = await deletePhoto(s.lib.db, ownerId, id, { media: mediaDir() });
            process.stdout.write(o.json ? JSON.stringify({ id, deleted: true, files_removed: filesRemoved }) + '\n' : `deleted photo ${id} (${filesRemoved} media files removed)\n`);
          } catch (err) {
            failed++;
            const code = (err as { code?: string }).code ?? 'failed';
            const message = code === 'not_found' ? `${o.owner} has no photo ${text}` : (err as Error).message;
            process.stdout.write(o.json ? JSON.stringify({ id: text, error: { code, message } }) + '\n' : `${message}\n`);
          }
        }
        if (failed > 0) process.exitCode = 1;
      } finally {
        await s.close();
      }
    });
}
