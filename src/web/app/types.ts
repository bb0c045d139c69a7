// The shapes of the Pictograph HTTP API (v1) that the web app reads; mirrors the server's contract.

export interface SynsetRef { wnid: string; name: string }

export interface Hedged { wnid: string; name: string; score: number; target: number }

export interface ScoredLabel { wnid: string; name: string; score: number }

export interface PhotoSummary {
  /** The server's photo id (a number today; treated as opaque). */
  id: string | number;
  owner: string;
  visibility: 'public' | 'private';
  width: number;
  height: number;
  hedged: Hedged | null;
  labels: ScoredLabel[];
  score?: number;
  thumbnail: string;
  thumbnail_large: string;
}

export interface Category { id: string; name: string; wnid: string; score?: number; count?: number; thumbnail?: string }

export interface FeedbackEntry { correct: boolean; wnid: string | null; name?: string | null; owner: string | null; at: string }

export interface TimelineSegment { start_ms: number; end_ms: number; frame: number; labels: ScoredLabel[]; hedged: Hedged | null; tags: string[] }

export interface Timeline {
  duration_ms: number;
  frames: number;
  declared_frames: number;
  notice: string | null;
  keyframes: Array<{ frame: number; t_ms: number; reason: 'start' | 'change' | 'time'; thumbnail: string | null }>;
  segments: TimelineSegment[];
}

export interface PhotoDetail extends PhotoSummary {
  taken_at: string | null;
  camera: string | null;
  model: { id: string; sha256: string };
  path: SynsetRef[];
  categories: Category[];
  similar: PhotoSummary[];
  original: string;
  feedback: FeedbackEntry[];
  /** Animations: keyframes and scenes (null for still photos). */
  timeline?: Timeline | null;
}

export interface PhotoPage { photos: PhotoSummary[]; next_cursor: string | null }

export interface SynsetDetail {
  wnid: string;
  name: string;
  lemmas: string[];
  gloss: string;
  path: SynsetRef[];
  children: Array<SynsetRef & { count: number }>;
  count: number;
  /** Tags attached under this synset. */
  tags?: TagCount[];
}

export interface SynsetHit { wnid: string; name: string; gloss: string; count?: number }
/** A sense of an ambiguous word, for "did you mean". */
export interface Sense { wnid: string; name: string; hint?: string; count?: number }
export interface SearchResult { synsets: SynsetHit[]; senses?: Sense[]; unknown?: string[]; tags?: TagCount[]; photos: PhotoSummary[] }

export interface Me { owner: string | null; admin: boolean }

export interface Owner { name: string; photos: number }

export interface TopCategory extends Category { count: number; score: number; examples: PhotoSummary[] }

export interface Profile {
  owner: string;
  photos: number;
  top_categories: TopCategory[];
  profile: ScoredLabel[];
  top_tags?: Array<{ id: string; name: string; wnid: string; count: number; share: number }>;
}

/** Each side's best photos of a concept in a comparison. */
export interface SideExamples { a_examples?: PhotoSummary[]; b_examples?: PhotoSummary[] }
export interface Asymmetry extends SideExamples { wnid: string; name: string; a: number; b: number }
export interface SharedConcept extends ScoredLabel, SideExamples {}
/** An everyday category's share of each person's photos. */
export interface CategoryShare extends SideExamples { id: string; name: string; wnid: string; a: number; b: number }

export interface Comparison {
  a: string;
  b: string;
  a_photos: number;
  b_photos: number;
  categories?: { shared: CategoryShare[]; a_more: CategoryShare[]; b_more: CategoryShare[] };
  /** The same in everyday tags (shares of each person's photos carrying the tag). */
  tags?: { shared: CategoryShare[]; a_more: CategoryShare[]; b_more: CategoryShare[] };
  shared: SharedConcept[];
  a_more: Asymmetry[];
  b_more: Asymmetry[];
}

export interface Concept { id: string; name: string; value: number }

export interface Classification {
  model: { id: string; sha256: string };
  concepts: Concept[];
  hedged: Hedged | null;
  path: SynsetRef[];
  categories: Category[];
}

export interface UploadResult { file: string; photo?: PhotoSummary; error?: { code: string; message: string } }

/** A node of the category tree: a synset, or a tag (`tag` set, `wnid` "tag:ID") under its synset. */
export interface TreeNode { wnid: string; name: string; count: number; tag?: string; children: TreeNode[] }

/** A tag (everyday concept or the viewer's own custom concept) with the photos carrying it. */
export interface TagCount { id: string; name: string; wnid: string; owner: string | null; count: number }

/** A tag's page: the synset it attaches under and that synset's path up to entity. */
export interface TagDetail extends TagCount { synset: SynsetRef; path: SynsetRef[] }

/** A face: box [x, y, w, h] in the photo's original pixels, and who it is (for the owner). */
export interface Face { id: number; photo_id: number; box: [number, number, number, number]; score: number; person: { id: number; name: string | null } | null }

/** One of the signed-in owner's people. */
export interface PersonCluster { id: number; name: string | null; faces: number; photos: number; cover: Face | null }

/** An owner's custom concept as the API returns it (teach, retrain, show). */
export interface CustomConcept {
  id: string;
  name: string;
  owner: string;
  threshold: number;
  positives: number;
  negatives: number;
  /** How many of the owner's photos it tags. */
  photos: number;
  report: {
    validation: { precision: number; recall: number; f1: number; examples: number };
    diagnosis: string[];
  };
}
