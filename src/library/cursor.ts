// Opaque keyset-pagination cursors (base64url JSON), validated strictly: a bad cursor is a `bad_cursor` error.
import { LibraryError } from './errors.js';

/** Position after the last row of a page: ordered by (score desc, id asc) under a synset, or by id alone. */
export interface PageCursor {
  /** The synset the page is under ("tag:ID" for a tag's photos), or null for an unordered listing. */
  under: string | null;
  score: number | null;
  id: number;
  /** Unordered listings only: newest (highest id) first. */
  newest?: boolean;
}

export function encodeCursor(c: PageCursor): string {
  const o: Record<string, unknown> = { v: 1, u: c.under, s: c.score, i: c.id };
  if (c.newest) o.n = 1;
  return Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');
}

/** Decodes a cursor and checks it belongs to a listing under `under` (null: no synset) in the same order. */
export function decodeCursor(text: string, under: string | null, newest = false): PageCursor {
  const bad = (why: string): never => {
    throw new LibraryError('bad_cursor', `invalid paging cursor: ${why}`);
  };
  if (typeof text !== 'string' || text.length === 0 || text.length > 512 || !/^[A-Za-z0-9_-]+$/.test(text)) bad('not a cursor this server issued');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return bad('not a cursor this server issued');
  }
  if (typeof raw !== 'object' || raw === null) return bad('not a cursor this server issued');
  const o = raw as Record<string, unknown>;
  if (o.v !== 1) bad('unknown cursor version');
  if (!(o.u === null || (typeof o.u === 'string' && (/^n\d{8}$/.test(o.u) || /^tag:.{1,200}$/su.test(o.u))))) bad('malformed');
  if (!(typeof o.i === 'number' && Number.isSafeInteger(o.i) && o.i >= 0)) bad('malformed');
  const u = o.u as string | null;
  if (u !== under) bad(u === null ? 'it belongs to a listing without a synset' : `it belongs to the listing under ${u}`);
  if (u !== null && !(typeof o.s === 'number' && Number.isFinite(o.s))) bad('malformed');
  if (u === null && o.s !== null) bad('malformed');
  if (!(o.n === undefined || o.n === 1) || (o.n === 1 && u !== null)) bad('malformed');
  if ((o.n === 1) !== (newest && u === null)) bad('it belongs to a listing in another order');
  const c: PageCursor = { under: u, score: u === null ? null : (o.s as number), id: o.i as number };
  if (o.n === 1) c.newest = true;
  return c;
}
