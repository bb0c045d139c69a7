// Concept routes: home-page categories, the category tree, WordNet synsets (detail and search-as-you-type)
// and word search over photos — all counted over the photos the caller may see.
import type { FastifyInstance } from 'fastify';
import { categoryCounts, type CategoryNode } from '../../library/categories.js';
import { searchPhotos } from '../../library/search.js';
import { attachPoint, tagCounts } from '../../library/tags.js';
import { tagCountSchema } from './tags.js';
import { readEverydayWords } from '../../taxonomy/everyday-words.js';
import { consumerCategoryCounts, countsUnder } from '../consumer-categories.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { photoSummary, photoUrl } from '../presenters.js';
import { bearer, categoryCountProperties, photoSummarySchema, synsetRefSchema } from '../schemas.js';
import { searchSynsetsByPrefix } from '../synset-search.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const ownerQuery = {
  type: 'object',
  properties: { owner: { type: 'string', minLength: 1, maxLength: 100 } },
} as const;

interface TreeOut {
  wnid: string;
  name: string;
  count: number;
  tag?: string;
  children: TreeOut[];
}

const treeSchema = {
  $id: 'CategoryTree',
  type: 'object',
  properties: {
    wnid: { type: 'string', description: 'The synset; "tag:ID" for a tag’s node.' },
    name: { type: 'string' },
    count: { type: 'integer' },
    tag: { type: 'string', description: 'A tag’s node only: the tag id (its photos: /v1/photos?tag=ID).' },
    children: { type: 'array', items: { $ref: 'CategoryTree#' } },
  },
} as const;

export function registerConceptRoutes(app: FastifyInstance): void {
  const everydayWords = readEverydayWords();
  const { db, runtime } = app.pictograph;
  app.addSchema(treeSchema);

  app.get<{ Querystring: { owner?: string } }>(
    '/v1/categories',
    {
      schema: {
        summary: 'Everyday categories with the number of photos you may see in each (and a cover thumbnail).',
        tags: ['concepts'],
        security: bearer,
        querystring: ownerQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              categories: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { ...categoryCountProperties, thumbnail: { type: 'string' } },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const counts = await consumerCategoryCounts(db, req.caller.viewer, { owner: req.query.owner });
      return {
        categories: counts.map((c) => ({
          id: c.id,
          name: c.name,
          wnid: c.wnid,
          count: c.count,
          thumbnail: `${photoUrl(c.coverPhotoId)}/thumbnail?size=256`,
        })),
      };
    },
  );

  app.get<{ Querystring: { owner?: string } }>(
    '/v1/categories/tree',
    {
      schema: {
        summary: 'Synsets with photos you may see, nested by primary hypernym from `entity`, with tags under their synsets (for the treemap).',
        tags: ['concepts'],
        security: bearer,
        querystring: ownerQuery,
        response: { 200: { $ref: 'CategoryTree#' }, ...errors },
      },
    },
    async (req) => {
      const view = runtime.view();
      const counts = await categoryCounts(db, req.caller.viewer, { owner: req.query.owner, taxonomy: view });
      const convert = (n: CategoryNode): TreeOut => ({
        wnid: n.wnid,
        name: n.name ?? view?.name(n.wnid) ?? n.wnid,
        count: n.count,
        ...(n.tag !== undefined ? { tag: n.tag } : {}),
        children: n.children.map(convert),
      });
      return counts.tree ? convert(counts.tree) : { wnid: 'n00001740', name: 'entity', count: counts.photos, children: [] };
    },
  );

  app.get<{ Params: { wnid: string } }>(
    '/v1/synsets/:wnid',
    {
      schema: {
        summary: 'A WordNet noun: lemmas, gloss, path to `entity`, and its children with photos you may see.',
        tags: ['concepts'],
        security: bearer,
        params: { type: 'object', required: ['wnid'], properties: { wnid: { type: 'string', maxLength: 20 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              wnid: { type: 'string' },
              name: { type: 'string' },
              lemmas: { type: 'array', items: { type: 'string' } },
              gloss: { type: 'string' },
              path: { type: 'array', items: synsetRefSchema },
              children: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { wnid: { type: 'string' }, name: { type: 'string' }, count: { type: 'integer' } },
                },
              },
              count: { type: 'integer' },
              tags: { type: 'array', description: 'Tags that attach under this synset, with photos you may see.', items: tagCountSchema },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { wnid } = req.params;
      const { hierarchy } = await runtime.taxonomy();
      const wordnet = hierarchy.wordnet;
      const index = /^n\d{8}$/.test(wnid) ? wordnet.indexOf(wnid) : undefined;
      if (index === undefined) throw new ApiError(404, 'unknown_synset', `${wnid} is not a WordNet 3.0 noun id (e.g. n02084071).`);
      const path = wordnet.primaryPath(index).map((i) => ({ wnid: wordnet.wnid(i), name: wordnet.name(i) }));
      const node = hierarchy.node(wnid);
      let count = 0;
      let children: Array<{ wnid: string; name: string; count: number }> = [];
      if (node !== undefined) {
        const childIds = hierarchy.children[node]!.map((c) => hierarchy.wnids[c]!);
        const byWnid = await countsUnder(db, req.caller.viewer, [wnid, ...childIds]);
        count = byWnid.get(wnid) ?? 0;
        children = hierarchy.children[node]!
          .map((c) => ({ wnid: hierarchy.wnids[c]!, name: hierarchy.names[c]!, count: byWnid.get(hierarchy.wnids[c]!) ?? 0 }))
          .filter((c) => c.count > 0)
          .sort((a, b) => b.count - a.count || (a.wnid < b.wnid ? -1 : 1));
      }
      const view = runtime.view();
      const tags = (await tagCounts(db, req.caller.viewer))
        .filter((t) => t.wnid === wnid || (view !== undefined && attachPoint(view, t.wnid) === wnid))
        .map(({ total: _t, ...t }) => t);
      return { wnid, name: wordnet.name(index), lemmas: wordnet.lemmas(index), gloss: wordnet.gloss(index), path, children, count, tags };
    },
  );

  app.get<{ Querystring: { q: string; limit: number } }>(
    '/v1/synsets',
    {
      schema: {
        summary: 'Search-as-you-type over WordNet noun lemmas.',
        tags: ['concepts'],
        querystring: {
          type: 'object',
          required: ['q'],
          properties: { q: { type: 'string', minLength: 1, maxLength: 100 }, limit: { type: 'integer', minimum: 1, maximum: 50, default: 10 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              synsets: {
                type: 'array',
                items: { type: 'object', properties: { wnid: { type: 'string' }, name: { type: 'string' }, gloss: { type: 'string' } } },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { hierarchy } = await runtime.taxonomy();
      const wordnet = hierarchy.wordnet;
      const hits = searchSynsetsByPrefix(wordnet, req.query.q, req.query.limit, (w) => hierarchy.node(w) !== undefined);
      return { synsets: hits.map((i) => ({ wnid: wordnet.wnid(i), name: wordnet.name(i), gloss: wordnet.gloss(i) })) };
    },
  );

  app.get<{ Querystring: { q: string; owner?: string; limit: number } }>(
    '/v1/search',
    {
      schema: {
        summary: 'Word search: words resolve through WordNet lemmas and synonyms to synsets, then to photos.',
        tags: ['concepts'],
        security: bearer,
        querystring: {
          type: 'object',
          required: ['q'],
          properties: {
            q: { type: 'string', minLength: 1, maxLength: 200 },
            owner: { type: 'string', minLength: 1, maxLength: 100 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              synsets: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { wnid: { type: 'string' }, name: { type: 'string' }, gloss: { type: 'string' }, count: { type: 'integer' } },
                },
              },
              senses: {
                type: 'array',
                description: 'Did you mean: the senses of an ambiguous word (crane: bird or machine), each with its broader concept.',
                items: {
                  type: 'object',
                  properties: { wnid: { type: 'string' }, name: { type: 'string' }, hint: { type: 'string' }, count: { type: 'integer' } },
                },
              },
              unknown: {
                type: 'array',
                description: 'Everyday words the model has no concept for (nothing is guessed for them).',
                items: { type: 'string' },
              },
              tags: { type: 'array', description: 'Tags the query names; their photos come first.', items: tagCountSchema },
              photos: { type: 'array', items: photoSummarySchema },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { hierarchy } = await runtime.taxonomy();
      const view = runtime.view()!;
      const result = await searchPhotos(db, req.caller.viewer, req.query.q, {
        taxonomy: view,
        owner: req.query.owner,
        limit: req.query.limit,
        aliases: everydayWords,
      });
      const byWnid = await countsUnder(db, req.caller.viewer, result.synsets.map((s) => s.wnid), { owner: req.query.owner });
      const wordnet = hierarchy.wordnet;
      return {
        synsets: result.synsets.map((s) => {
          const i = wordnet.indexOf(s.wnid);
          return { wnid: s.wnid, name: s.name ?? (i !== undefined ? wordnet.name(i) : s.wnid), gloss: i !== undefined ? wordnet.gloss(i) : '', count: byWnid.get(s.wnid) ?? 0 };
        }),
        senses: result.senses.map((s) => ({ ...s, name: s.name ?? s.wnid, count: byWnid.get(s.wnid) ?? 0 })),
        unknown: result.unknown,
        tags: await (async () => {
          if (result.tags.length === 0) return [];
          const counts = new Map((await tagCounts(db, req.caller.viewer, { owner: req.query.owner })).map((c) => [c.id, c.count]));
          return result.tags.map((t) => ({ ...t, count: counts.get(t.id) ?? 0 }));
        })(),
        photos: result.photos.map(photoSummary),
      };
    },
  );
}
