// Owner routes: who am I, owners with visible photos, an owner's profile, comparing two owners, and the
// admin's owner and token management.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { compareOwners, ownerProfile } from '../../library/profile.js';
import { listPhotos } from '../../library/photos.js';
import { ensureOwner, findOwnerId } from '../../library/store.js';
import { createToken } from '../../library/tokens.js';
import { visibleTo, type Viewer } from '../../library/viewer.js';
import type { LibraryDb } from '../../library/db.js';
import { requireAdmin } from '../auth.js';
import { chooseTreemapCategories } from '../../taxonomy/categories.js';
import { consumerCategoryCounts } from '../consumer-categories.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { photoSummary } from '../presenters.js';
import { bearer, categoryCountProperties, ownerNamePattern, photoSummarySchema, scoredSynsetSchema } from '../schemas.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const ownerName = { type: 'string', minLength: 1, maxLength: 100 } as const;
/** Each side's best photos of a concept, so a comparison shows pictures and not only words. */
const examplesProperties = {
  a_examples: { type: 'array', items: photoSummarySchema },
  b_examples: { type: 'array', items: photoSummarySchema },
} as const;
const moreSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { wnid: { type: 'string' }, name: { type: 'string' }, a: { type: 'number' }, b: { type: 'number' }, ...examplesProperties },
  },
} as const;
const sharedSchema = {
  type: 'array',
  items: { type: 'object', properties: { ...scoredSynsetSchema.properties, ...examplesProperties } },
} as const;
const categoryShareSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      wnid: { type: 'string' },
      a: { type: 'number' },
      b: { type: 'number' },
      ...examplesProperties,
    },
  },
} as const;
const tagShareSchema = {
  type: 'array',
  items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, wnid: { type: 'string' }, a: { type: 'number' }, b: { type: 'number' } } },
} as const;
/** Example photos per side and concept in a comparison. */
const COMPARE_EXAMPLES = 3;

/** Owners with at least one photo `viewer` may see, with that count, most photos first. */
export async function ownersWithPhotos(db: LibraryDb, viewer: Viewer): Promise<Array<{ name: string; photos: number }>> {
  const rows = await db
    .selectFrom('photos as p')
    .innerJoin('owners as o', 'o.id', 'p.owner_id')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['o.name as name', sql<number>`count(*)`.as('photos')])
    .where(visibleTo(viewer, 'p'))
    .groupBy('o.name')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('o.name')
    .execute();
  return rows.map((r) => ({ name: r.name, photos: Number(r.photos) }));
}

export function registerOwnerRoutes(app: FastifyInstance): void {
  const { db, runtime } = app.pictograph;

  app.get(
    '/v1/me',
    {
      schema: {
        summary: 'Who the token belongs to.',
        tags: ['owners'],
        security: bearer,
        response: {
          200: { type: 'object', properties: { owner: { type: 'string', nullable: true }, admin: { type: 'boolean' } } },
          ...errors,
        },
      },
    },
    async (req) => ({ owner: req.caller.owner?.name ?? null, admin: req.caller.admin }),
  );

  app.get(
    '/v1/owners',
    {
      schema: {
        summary: 'Owners with photos you may see.',
        tags: ['owners'],
        security: bearer,
        response: {
          200: {
            type: 'object',
            properties: {
              owners: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, photos: { type: 'integer' } } } },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => ({ owners: await ownersWithPhotos(db, req.caller.viewer) }),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/owners/:name/profile',
    {
      schema: {
        summary: 'An owner’s profile over the photos you may see: top categories with examples, top synsets.',
        tags: ['owners'],
        security: bearer,
        params: { type: 'object', required: ['name'], properties: { name: ownerName } },
        response: {
          200: {
            type: 'object',
            properties: {
              owner: { type: 'string' },
              photos: { type: 'integer' },
              top_categories: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    ...categoryCountProperties,
                    score: { type: 'number' },
                    examples: { type: 'array', items: photoSummarySchema },
                  },
                },
              },
              profile: { type: 'array', items: scoredSynsetSchema },
              top_tags: {
                type: 'array',
                description: 'Tags by photos carrying them (everyday, and your own custom concepts), most first; share = of the photos.',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, name: { type: 'string' }, wnid: { type: 'string' }, count: { type: 'integer' }, share: { type: 'number' } },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const viewer = req.caller.viewer;
      const name = req.params.name;
      const view = runtime.view();
      const profile = await ownerProfile(db, viewer, name, { taxonomy: view, top: 20 });
      const { categories } = await runtime.taxonomy();
      const means = new Map(profile.topCategories.map((c) => [c.id, c.mean]));
      // Treemap cells: the biggest categories that do not nest inside one another (Dog, not Animal ⊃ Mammal ⊃ Dog).
      const top = chooseTreemapCategories(categories, await consumerCategoryCounts(db, viewer, { owner: name }), { max: 8 });
      const topCategories = [];
      for (const c of top) {
        const examples = await listPhotos(db, viewer, { under: c.wnid, owner: name, limit: 12, taxonomy: view });
        topCategories.push({
          id: c.id,
          name: c.name,
          wnid: c.wnid,
          count: c.count,
          score: means.get(c.id) ?? 0,
          examples: examples.photos.map(photoSummary),
        });
      }
      return {
        owner: profile.owner,
        photos: profile.photos,
        top_categories: topCategories,
        profile: profile.topSynsets.map((s) => ({ wnid: s.wnid, name: s.name ?? view?.name(s.wnid) ?? s.wnid, score: s.value })),
        top_tags: profile.topTags.map((t) => ({ id: t.id, name: t.name, wnid: t.wnid, count: t.count, share: t.mean })),
      };
    },
  );

  app.get<{ Querystring: { a: string; b: string } }>(
    '/v1/compare',
    {
      schema: {
        summary: 'Compare two owners over the photos you may see: shared interests and asymmetries.',
        tags: ['owners'],
        security: bearer,
        querystring: { type: 'object', required: ['a', 'b'], properties: { a: ownerName, b: ownerName } },
        response: {
          200: {
            type: 'object',
            properties: {
              a: { type: 'string' },
              b: { type: 'string' },
              a_photos: { type: 'integer' },
              b_photos: { type: 'integer' },
              similarity: { type: 'number' },
              categories: {
                type: 'object',
                description: 'The comparison in everyday categories (shares of each owner’s photos), shown first.',
                properties: { shared: categoryShareSchema, a_more: categoryShareSchema, b_more: categoryShareSchema },
              },
              tags: {
                type: 'object',
                description: 'The comparison in everyday tags (shares of each owner’s photos carrying the tag).',
                properties: { shared: tagShareSchema, a_more: tagShareSchema, b_more: tagShareSchema },
              },
              shared: sharedSchema,
              a_more: moreSchema,
              b_more: moreSchema,
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const viewer = req.caller.viewer;
      const { a, b } = req.query;
      const view = runtime.view();
      const categoryDefs = runtime.ready() ? (await runtime.taxonomy()).categories : undefined;
      const cmp = await compareOwners(db, viewer, a, b, {
        taxonomy: view,
        top: 15,
        categoryParent: (id) => categoryDefs?.byId.get(id)?.parent,
      });
      const [pa, pb] = [await ownerProfile(db, viewer, a, { top: 0 }), await ownerProfile(db, viewer, b, { top: 0 })];
      const meanA = new Map(pa.nodes.map((n) => [n.wnid, n.mean]));
      const meanB = new Map(pb.nodes.map((n) => [n.wnid, n.mean]));
      const nameOf = (s: { wnid: string; name?: string }) => s.name ?? view?.name(s.wnid) ?? s.wnid;
      const examples = async (wnid: string) => {
        const of = async (owner: string) =>
          (await listPhotos(db, viewer, { under: wnid, owner, limit: COMPARE_EXAMPLES, minScore: 0.2, taxonomy: view })).photos.map(photoSummary);
        return { a_examples: await of(cmp.a.owner), b_examples: await of(cmp.b.owner) };
      };
      const more = async (list: typeof cmp.moreA) => {
        const rows = [];
        for (const s of list) rows.push({ wnid: s.wnid, name: nameOf(s), a: meanA.get(s.wnid) ?? 0, b: meanB.get(s.wnid) ?? 0, ...(await examples(s.wnid)) });
        return rows;
      };
      const everyday = async (list: typeof cmp.categories.shared) => {
        const rows = [];
        for (const c of list.slice(0, 8)) rows.push({ ...c, ...(await examples(c.wnid)) });
        return rows;
      };
      const shared = [];
      for (const s of cmp.shared) shared.push({ wnid: s.wnid, name: nameOf(s), score: s.value, ...(await examples(s.wnid)) });
      return {
        a: cmp.a.owner,
        b: cmp.b.owner,
        a_photos: cmp.a.photos,
        b_photos: cmp.b.photos,
        similarity: cmp.similarity,
        categories: {
          shared: await everyday(cmp.categories.shared),
          a_more: await everyday(cmp.categories.moreA),
          b_more: await everyday(cmp.categories.moreB),
        },
        tags: { shared: cmp.tags.shared.slice(0, 8), a_more: cmp.tags.moreA.slice(0, 8), b_more: cmp.tags.moreB.slice(0, 8) },
        shared,
        a_more: await more(cmp.moreA),
        b_more: await more(cmp.moreB),
      };
    },
  );

  app.post<{ Body: { name: string } }>(
    '/v1/owners',
    {
      schema: {
        summary: 'Create an owner (admin).',
        tags: ['admin'],
        security: bearer,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', pattern: ownerNamePattern } },
        },
        response: {
          201: { type: 'object', properties: { owner: { type: 'object', properties: { name: { type: 'string' }, created: { type: 'boolean' } } } } },
          ...errors,
        },
      },
      preValidation: requireJson,
    },
    async (req, reply) => {
      requireAdmin(req);
      const existed = (await findOwnerId(db, req.body.name)) !== undefined;
      await ensureOwner(db, req.body.name);
      return reply.code(existed ? 200 : 201).send({ owner: { name: req.body.name, created: !existed } });
    },
  );

  app.post<{ Body: { owner?: string; admin?: boolean } }>(
    '/v1/tokens',
    {
      schema: {
        summary: 'Create an API token for an owner (admin); the token is shown once and stored hashed.',
        tags: ['admin'],
        security: bearer,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { owner: { type: 'string', pattern: ownerNamePattern }, admin: { type: 'boolean', default: false } },
        },
        response: {
          201: {
            type: 'object',
            properties: { token: { type: 'string' }, owner: { type: 'string', nullable: true }, admin: { type: 'boolean' } },
          },
          ...errors,
        },
      },
      preValidation: requireJson,
    },
    async (req, reply) => {
      requireAdmin(req);
      const { owner, admin = false } = req.body;
      if (owner === undefined && !admin) throw new ApiError(400, 'bad_request', 'Name an `owner` (or ask for an `admin` token).');
      const ownerId = owner === undefined ? null : await findOwnerId(db, owner);
      if (ownerId === undefined) throw new ApiError(404, 'unknown_owner', `No owner named ${owner}; create it with POST /v1/owners.`);
      const { token } = await createToken(db, { ownerId, admin });
      return reply.code(201).send({ token, owner: owner ?? null, admin });
    },
  );
}

/** preValidation hook: JSON bodies only (415 otherwise; 400 when there is none). */
export async function requireJson(req: { headers: Record<string, unknown>; body: unknown }): Promise<void> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '' && (req.body === undefined || req.body === null)) {
    throw new ApiError(400, 'empty_body', 'Send a JSON object body (Content-Type: application/json).');
  }
  if (type !== 'application/json') {
    throw new ApiError(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not accepted here; send application/json.`);
  }
}
