// JSON schemas of the API's shared shapes (used for validation, fast serialisation and the OpenAPI document).

export const synsetRefSchema = {
  type: 'object',
  required: ['wnid', 'name'],
  properties: { wnid: { type: 'string' }, name: { type: 'string' } },
} as const;

export const scoredSynsetSchema = {
  type: 'object',
  required: ['wnid', 'name', 'score'],
  properties: { wnid: { type: 'string' }, name: { type: 'string' }, score: { type: 'number' } },
} as const;

export const hedgedSchema = {
  type: 'object',
  nullable: true,
  required: ['wnid', 'name', 'score', 'target'],
  properties: {
    wnid: { type: 'string' },
    name: { type: 'string' },
    score: { type: 'number' },
    target: { type: 'number' },
  },
} as const;

export const categorySchema = {
  type: 'object',
  required: ['id', 'name', 'wnid', 'score'],
  properties: { id: { type: 'string' }, name: { type: 'string' }, wnid: { type: 'string' }, score: { type: 'number' } },
} as const;

/** A consumer category with how many visible photos fall in it (home page, treemap cells). */
export const categoryCountProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  wnid: { type: 'string' },
  count: { type: 'integer' },
} as const;

export const modelRefSchema = {
  type: 'object',
  required: ['id', 'sha256'],
  properties: { id: { type: 'string' }, sha256: { type: 'string' } },
} as const;

export const photoSummaryProperties = {
  id: { type: 'integer' },
  owner: { type: 'string' },
  visibility: { type: 'string', enum: ['private', 'public'] },
  width: { type: 'integer' },
  height: { type: 'integer' },
  hedged: hedgedSchema,
  labels: { type: 'array', items: scoredSynsetSchema },
  score: { type: 'number' },
  thumbnail: { type: 'string' },
  thumbnail_large: { type: 'string' },
} as const;

export const photoSummarySchema = {
  type: 'object',
  required: ['id', 'owner', 'visibility', 'width', 'height', 'hedged', 'labels', 'thumbnail', 'thumbnail_large'],
  properties: photoSummaryProperties,
} as const;

/** An animation's concept timeline (null for still photos). */
export const timelineSchema = {
  type: 'object',
  nullable: true,
  required: ['duration_ms', 'frames', 'declared_frames', 'notice', 'keyframes', 'segments'],
  properties: {
    duration_ms: { type: 'integer', description: 'Time on screen of the frames read (delays under 20 ms count as 100 ms, as in browsers).' },
    frames: { type: 'integer', description: 'Frames read.' },
    declared_frames: { type: 'integer', description: 'Frames the file declares (more than `frames` when limits or truncation cut it short).' },
    notice: { type: 'string', nullable: true, description: 'Why frames were left out, or null.' },
    keyframes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['frame', 't_ms', 'reason', 'thumbnail'],
        properties: {
          frame: { type: 'integer' },
          t_ms: { type: 'number' },
          reason: { type: 'string', enum: ['start', 'change', 'time'] },
          thumbnail: { type: 'string', nullable: true },
        },
      },
    },
    segments: {
      type: 'array',
      items: {
        type: 'object',
        required: ['start_ms', 'end_ms', 'frame', 'labels', 'hedged', 'tags'],
        properties: {
          start_ms: { type: 'number' },
          end_ms: { type: 'number' },
          frame: { type: 'integer' },
          labels: { type: 'array', items: scoredSynsetSchema },
          hedged: hedgedSchema,
          tags: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;

export const wnidPattern = '^n[0-9]{8}$';
export const ownerNamePattern = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

export const bearer: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];
