// People routes (issue 11): the signed-in owner's people, naming, merging, "not this person", face crops, and the
// faces of a photo. People are per owner: another owner's person or face reads as missing (404), and a photo's
// faces show to others only when its owner opted in (names only, never embeddings).
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { photoDetail } from '../../library/photos.js';
import { listPeople, mergePeople, namePerson, photoFaces, photosOfPerson, rejectFace, storedLandmarks, type PersonSummary } from '../../library/people.js';
import { requireOwner } from '../auth.js';
import { ApiError, errorBodySchema } from '../errors.js';
import { photoSummary } from '../presenters.js';
import { bearer, idParamsSchema, photoSummarySchema } from '../schemas.js';
import { insideMedia } from './photos.js';
import { uprightTurn } from '../../vision/faces/turn.js';

const errors = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const boxSchema = { type: 'array', items: { type: 'number' }, minItems: 4, maxItems: 4 } as const;
const faceSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    photo_id: { type: 'integer' },
    box: boxSchema,
    score: { type: 'number' },
    person: { type: 'object', nullable: true, properties: { id: { type: 'integer' }, name: { type: 'string', nullable: true } } },
  },
} as const;
const personSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string', nullable: true },
    faces: { type: 'integer' },
    photos: { type: 'integer' },
    cover: { ...faceSchema, nullable: true },
  },
} as const;

function personJson(p: PersonSummary) {
  return {
    id: p.id,
    name: p.name,
    faces: p.faces,
    photos: p.photos,
    cover: p.cover ? { id: p.cover.id, photo_id: p.cover.photoId, box: p.cover.box, score: p.cover.score } : null,
  };
}

export function registerPeopleRoutes(app: FastifyInstance): void {
  const { db } = app.pictograph;
  const ctx = app.pictograph;

  app.get('/v1/people', {
    schema: {
      summary: 'Your people: faces in your photos grouped per person, most photographed first.',
      tags: ['people'],
      security: bearer,
      response: { 200: { type: 'object', properties: { people: { type: 'array', items: personSchema } } }, ...errors },
    },
  }, async (req) => {
    const owner = requireOwner(req);
    return { people: (await listPeople(db, owner.id)).map(personJson) };
  });

  app.get<{ Params: { id: number } }>('/v1/people/:id', {
    schema: {
      summary: 'One of your people and their photos (newest first).',
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      response: { 200: { type: 'object', properties: { person: personSchema, photos: { type: 'array', items: photoSummarySchema } } }, ...errors },
    },
  }, async (req) => {
    const owner = requireOwner(req);
    const person = (await listPeople(db, owner.id)).find((p) => p.id === req.params.id);
    if (!person) throw new ApiError(404, 'not_found', `No person ${req.params.id}.`);
    const ids = await photosOfPerson(db, owner.id, person.id, 200);
    const photos = [];
    for (const id of ids) photos.push(photoSummary(await photoDetail(db, req.caller.viewer, id, { nodes: 0 })));
    return { person: personJson(person), photos };
  });

  app.patch<{ Params: { id: number }; Body: { name: string | null } }>('/v1/people/:id', {
    schema: {
      summary: 'Name a person (null removes the name). Later faces of them join them more readily.',
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', nullable: true, maxLength: 200 } } },
      response: { 200: personSchema, ...errors },
    },
  }, async (req) => {
    const owner = requireOwner(req);
    const name = req.body.name === null || req.body.name.trim() === '' ? null : req.body.name;
    await namePerson(db, owner.id, req.params.id, name);
    const person = (await listPeople(db, owner.id)).find((p) => p.id === req.params.id);
    if (!person) throw new ApiError(404, 'not_found', `No person ${req.params.id}.`);
    return personJson(person);
  });

  app.post<{ Params: { id: number }; Body: { from: number } }>('/v1/people/:id/merge', {
    schema: {
      summary: 'Merge another of your people (`from`) into this one.',
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      body: { type: 'object', required: ['from'], additionalProperties: false, properties: { from: { type: 'integer', minimum: 1 } } },
      response: { 200: personSchema, ...errors },
    },
  }, async (req) => {
    const owner = requireOwner(req);
    await mergePeople(db, owner.id, req.params.id, req.body.from);
    const person = (await listPeople(db, owner.id)).find((p) => p.id === req.params.id)!;
    return personJson(person);
  });

  app.post<{ Params: { id: number } }>('/v1/faces/:id/reject', {
    schema: {
      summary: '"Not this person": the face leaves its person for good and is grouped again.',
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } }, ...errors },
    },
  }, async (req) => {
    const owner = requireOwner(req);
    await rejectFace(db, owner.id, req.params.id);
    return { ok: true };
  });

  app.get<{ Params: { id: number } }>('/v1/faces/:id/thumbnail', {
    schema: {
      summary: 'A square WebP crop of one of your faces, cut from the stored thumbnail.',
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      response: errors,
    },
  }, async (req, reply) => {
    const owner = requireOwner(req);
    const face = await db
      .selectFrom('faces as f')
      .innerJoin('photos as p', 'p.id', 'f.photo_id')
      .select(['f.x', 'f.y', 'f.w', 'f.h', 'f.landmarks', 'p.width', 'p.height', 'p.thumb_small', 'p.thumb_large'])
      .where('f.id', '=', req.params.id)
      .where('f.owner_id', '=', owner.id)
      .executeTakeFirst();
    if (!face) throw new ApiError(404, 'not_found', `No face ${req.params.id}.`);
    // The 256 px thumbnail when the face is big enough in it, else the 1024 px one.
    const useLarge = face.thumb_large !== null && (face.w * 256) / Math.max(face.width, face.height) < 64;
    const name = useLarge ? face.thumb_large : (face.thumb_small ?? face.thumb_large);
    if (!name) throw new ApiError(404, 'thumbnail_missing', 'The photo has no thumbnail.');
    const image = sharp(insideMedia(ctx, name));
    const meta = await image.metadata();
    const k = (meta.width ?? 1) / face.width;
    // A square around the face with a margin, inside the image.
    const side = Math.max(1, Math.round(Math.max(face.w, face.h) * 1.4 * k));
    const cx = (face.x + face.w / 2) * k;
    const cy = (face.y + face.h / 2) * k;
    const left = Math.max(0, Math.min((meta.width ?? 1) - 1, Math.round(cx - side / 2)));
    const top = Math.max(0, Math.min((meta.height ?? 1) - 1, Math.round(cy - side / 2)));
    const width = Math.max(1, Math.min(side, (meta.width ?? 1) - left));
    const height = Math.max(1, Math.min(side, (meta.height ?? 1) - top));
    // Upright, also for a face found in a photo stored sideways (its eye line says which way it is turned).
    const turn = uprightTurn(storedLandmarks(face.landmarks));
    // (sharp turns before it extracts within one pipeline, so the crop is turned in a second one)
    const square = await image.extract({ left, top, width, height }).resize(128, 128, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
    const webp = await sharp(square.data, { raw: { width: square.info.width, height: square.info.height, channels: square.info.channels } }).rotate(turn).webp({ quality: 80 }).toBuffer();
    return reply.header('content-type', 'image/webp').header('cache-control', 'private, max-age=300').send(webp);
  });

  app.get<{ Params: { id: number } }>('/v1/photos/:id/faces', {
    schema: {
      summary: "A photo's faces (boxes in original pixels) and who they are; others see names only if the owner opted in.",
      tags: ['people'],
      security: bearer,
      params: idParamsSchema,
      response: { 200: { type: 'object', properties: { faces: { type: 'array', items: faceSchema } } }, ...errors },
    },
  }, async (req) => {
    const faces = await photoFaces(db, req.caller.viewer, req.params.id);
    return { faces: faces.map((f) => ({ id: f.id, photo_id: f.photoId, box: f.box, score: f.score, person: f.person })) };
  });
}
