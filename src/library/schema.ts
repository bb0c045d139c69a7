// The library's tables as Kysely types: one schema shared by SQLite and PostgreSQL.
import type { Generated, Insertable, Selectable } from 'kysely';

export interface OwnersTable {
  id: Generated<number>;
  name: string;
  created_at: string;
}

/** One photo of one owner; the same file (content hash) under two owners is two photos. */
export interface PhotosTable {
  id: Generated<number>;
  owner_id: number;
  /** sha256 of the file's bytes, hex. Unique per owner. */
  content_hash: string;
  original_path: string;
  file_name: string;
  size: number;
  width: number;
  height: number;
  format: string;
  taken_at: string | null;
  camera: string | null;
  orientation: number | null;
  gps_lat: number | null;
  gps_lon: number | null;
  /** Thumbnail file names (content-addressed) relative to the media dir. */
  thumb_small: string | null;
  thumb_large: string | null;
  visibility: 'private' | 'public';
  created_at: string;
}

/** The stored result of one model for one photo (one current analysis per photo). */
export interface AnalysesTable {
  photo_id: number;
  model_id: string;
  model_sha256: string;
  top_wnid: string;
  top_score: number;
  hedged_wnid: string | null;
  hedged_name: string | null;
  hedged_score: number | null;
  hedged_target: number | null;
  /** JSON: Label[] */
  labels: string;
  /** JSON: CategoryScore[] */
  categories: string;
  /** Float32 little-endian bytes. */
  embedding: Uint8Array;
  created_at: string;
}

/** Sparse lifted synset scores of a photo's current analysis; indexed (wnid, score desc, photo_id). */
export interface NodeScoresTable {
  photo_id: number;
  wnid: string;
  score: number;
}

export interface FailuresTable {
  id: Generated<number>;
  owner_id: number;
  path: string;
  code: string;
  reason: string;
  at: string;
}

export interface FeedbackTable {
  id: Generated<number>;
  photo_id: number;
  owner_id: number | null;
  model_id: string;
  correct: number;
  wnid: string | null;
  at: string;
}

export interface TokensTable {
  id: Generated<number>;
  owner_id: number | null;
  token_hash: string;
  admin: number;
  created_at: string;
}

/** An animation's timeline (one per animated photo): JSON keyframes and segments, see taxonomy/timeline.ts. */
export interface TimelinesTable {
  photo_id: number;
  duration_ms: number;
  frames: number;
  declared_frames: number;
  notice: string | null;
  /** JSON: TimelineKeyframe[] */
  keyframes: string;
  /** JSON: TimelineSegment[] */
  segments: string;
}

export interface LibrarySchema {
  owners: OwnersTable;
  photos: PhotosTable;
  analyses: AnalysesTable;
  node_scores: NodeScoresTable;
  failures: FailuresTable;
  feedback: FeedbackTable;
  tokens: TokensTable;
  timelines: TimelinesTable;
}

export type PhotoRow = Selectable<PhotosTable>;
export type NewPhoto = Insertable<PhotosTable>;
export type AnalysisRow = Selectable<AnalysesTable>;
