// Tag routes: the tags you may see with their photo counts, and one tag's page (its synset, the path to `entity`,
// how many photos carry it). A tag's photos are `GET /v1/photos?tag=ID`. An owner's custom concept ("OWNER/NAME")
// is only ever visible to that owner (and admins): anyone else gets the same 404 as for a tag that does not exist.
import type { FastifyInstance } from 'fastify';
import { LibraryError } from '../../library/errors.js';
import { tagCounts, tagInfo, type TagInfo } from '../../library/tags.js';
import type { Viewer } from '../../library/viewer.js';
import type { LibraryDb } from '../../library/db.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { bearer, synsetRefSchema } from '../schemas.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };

export const tagCountSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'Everyday concept id ("beach") or "OWNER/NAME" for a custom concept.' },
    name: { type: 'string' },
    wnid: { type: 'string', description: 'The WordNet synset the concept attaches under.' },
    owner: { type: 'string', nullable: true, description: 'The owner of a custom concept; null for everyday ones.' },
    count: { type: 'integer', description: 'Photos you may see carrying the tag (score at or above its calibrated threshold).' },
  },
} as const;

/** The tag if the viewer may see it, else 404 `unknown_tag`. */
export async function visibleTag(db: LibraryDb, viewer: Viewer, id: string): Promise<TagInfo> {
  try {
    return await tagInfo(db, viewer, id);
  } catch (err) {
    if (err instanceof LibraryError && err.code === 'not_found') throw new ApiError(404, 'unknown_tag', `No tag ${JSON.stringify(id)}.`);
    throw err;
  }
}

export function registerTagRoutes(app: FastifyInstance): void {
  const { db, runtime } = app.pictograph;

  app.get<{ Querystring: { owner?: string } }>(
    '/v1/tags',
    {
      schema: {
        summary: 'Tags (everyday concepts, and your own custom concepts) with the number of photos you may see carrying each.',
        tags: ['concepts'],
        security: bearer,
        querystring: { type: 'object', properties: { owner: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: { 200: { type: 'object', properties: { tags: { type: 'array', items: tagCountSchema } } }, ...errors },
      },
    },
    async (req) => ({ tags: (await tagCounts(db, req.caller.viewer, { owner: req.query.owner })).map(({ total: _t, ...t }) => t) }),
  );

  app.get<{ Params: { tag: string }; Querystring: { owner?: string } }>(
    '/v1/tags/:tag',
    {
      schema: {
        summary: 'One tag: its name, the synset it attaches under with the path to `entity`, and how many photos you may see carry it.',
        tags: ['concepts'],
        security: bearer,
        params: { type: 'object', required: ['tag'], properties: { tag: { type: 'string', minLength: 1, maxLength: 200 } } },
        querystring: { type: 'object', properties: { owner: { type: 'string', minLength: 1, maxLength: 100 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              ...tagCountSchema.properties,
              synset: synsetRefSchema,
              path: { type: 'array', items: synsetRefSchema, description: 'From the synset up to `entity`.' },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const viewer = req.caller.viewer;
      const tag = await visibleTag(db, viewer, req.params.tag);
      const { hierarchy } = await runtime.taxonomy();
      const wordnet = hierarchy.wordnet;
      const index = wordnet.indexOf(tag.wnid);
      const path = index === undefined ? [] : wordnet.primaryPath(index).map((i) => ({ wnid: wordnet.wnid(i), name: wordnet.name(i) }));
      const count = (await tagCounts(db, viewer, { owner: req.query.owner })).find((t) => t.id === tag.id)?.count ?? 0;
      return { ...tag, count, synset: path[0] ?? { wnid: tag.wnid, name: tag.wnid }, path };
    },
  );
}
