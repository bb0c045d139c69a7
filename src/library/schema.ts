// The library's tables as Kysely types: one schema shared by SQLite and PostgreSQL.
import type { Generated, Insertable, Selectable } from 'kysely';

export interface OwnersTable {
  id: Generated<number>;
  name: string;
  created_at: string;
  /** 1 = detect faces in this owner's photos (issue 11). */
  faces_enabled: Generated<number>;
  /** 1 = public photos show the names of the people in them. */
  faces_public: Generated<number>;
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
  /** The photo's owner (owners never change), so that one owner's photos under X are one index range too. */
  owner_id: number;
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
  /** A custom concept's tag id ("OWNER/NAME") the answer is about (issue 10). */
  concept_id?: string | null;
  at: string;
  /** Who judged, for one judgement per (voter, photo): `owner:<id>`, `admin` or `client:<hash>`; null on old rows. */
  voter: string | null;
}

export interface TokensTable {
  id: Generated<number>;
  owner_id: number | null;
  token_hash: string;
  admin: number;
  created_at: string;
}

/** A signed-in browser: the cookie's secret is stored only as its sha256 hash. */
export interface BrowserSessionsTable {
  id: Generated<number>;
  session_hash: string;
  owner_id: number | null;
  admin: number;
  /** The API token the session was exchanged for (revoking the token ends the session); null for a sign-in code. */
  token_id: number | null;
  created_at: string;
  expires_at: string;
}

/** A one-time sign-in code (`pictograph up` prints it in a URL); deleted when redeemed. */
export interface SignInCodesTable {
  id: Generated<number>;
  code_hash: string;
  owner_id: number;
  created_at: string;
  expires_at: string;
}

/**
 * Maintained photo counts per (owner, visibility, kind, key); owner 0 aggregates every owner. Kept current in
 * the transactions that change photos (src/library/counts.ts).
 */
export interface ConceptCountsTable {
  owner_id: number;
  visibility: 'private' | 'public';
  /** 'photos' | 'synset' | 'category' (more kinds, e.g. 'tag', later). */
  kind: string;
  /** '' for photos, a wnid, a category id. */
  key: string;
  /** Photos at or above the kind's threshold. */
  photos: number;
  /** Sum of the photos' scores in millionths (exact integer sums). */
  score_micros: number;
}

/** Small facts about the library itself (e.g. its random id, which names its saved similar-photo indexes). */
export interface LibraryMetaTable {
  key: string;
  value: string;
}

/** A photo's tags (issue 10): concepts scored at or above their threshold. */
export interface PhotoTagsTable {
  photo_id: number;
  /** Everyday id ("beach") or "OWNER/NAME". */
  concept_id: string;
  score: number;
}

/** An owner's custom concept (issue 10): its head file as JSON. */
export interface ConceptsTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  wnid: string | null;
  /** JSON: HeadFile (one concept). */
  head: string;
  /** JSON: training report (curves, diagnosis, quality). */
  report: string;
  /** JSON: the examples taught (base64 float32 embeddings), for retraining. */
  examples: string;
  created_at: string;
  updated_at: string;
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

export interface PeopleTable {
  id: Generated<number>;
  owner_id: number;
  name: string | null;
  created_at: string;
}

export interface FaceScansTable {
  photo_id: number;
  detector: string;
  people: number;
  person_score: number;
  /** JSON: [{id: 'person' | 'group' | 'portrait', score}]. */
  tags: string;
  at: string;
}

export interface FacesTable {
  id: Generated<number>;
  photo_id: number;
  owner_id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
  /** JSON [[x, y], ...] in original pixels. */
  landmarks: string;
  embedding: Uint8Array | null;
  person_id: number | null;
  assigned_by: Generated<string>;
  created_at: string;
}

export interface FaceRejectionsTable {
  face_id: number;
  person_id: number;
}

export interface LibrarySchema {
  photo_tags: PhotoTagsTable;
  concepts: ConceptsTable;
  owners: OwnersTable;
  photos: PhotosTable;
  analyses: AnalysesTable;
  node_scores: NodeScoresTable;
  failures: FailuresTable;
  feedback: FeedbackTable;
  tokens: TokensTable;
  browser_sessions: BrowserSessionsTable;
  sign_in_codes: SignInCodesTable;
  concept_counts: ConceptCountsTable;
  library_meta: LibraryMetaTable;
  timelines: TimelinesTable;
  people: PeopleTable;
  face_scans: FaceScansTable;
  faces: FacesTable;
  face_rejections: FaceRejectionsTable;
}

export type PhotoRow = Selectable<PhotosTable>;
export type NewPhoto = Insertable<PhotosTable>;
export type AnalysisRow = Selectable<AnalysesTable>;
