// Library records as API shapes: PhotoSummary and friends, with media URLs and never a server file path.
import type { PhotoSummary as LibraryPhoto } from '../library/photos.js';

export interface ApiPhotoSummary {
  id: number;
  owner: string;
  visibility: 'private' | 'public';
  width: number;
  height: number;
  hedged: { wnid: string; name: string; score: number; target: number } | null;
  labels: Array<{ wnid: string; name: string; score: number }>;
  score?: number;
  thumbnail: string;
  thumbnail_large: string;
}

export function photoUrl(id: number): string {
  return `/v1/photos/${id}`;
}

export function photoSummary(p: LibraryPhoto): ApiPhotoSummary {
  const s: ApiPhotoSummary = {
    id: p.id,
    owner: p.owner,
    visibility: p.visibility,
    width: p.width,
    height: p.height,
    hedged: p.hedged ? { wnid: p.hedged.wnid, name: p.hedged.name, score: p.hedged.score, target: p.hedged.target } : null,
    labels: p.labels.slice(0, 5).map((l) => ({ wnid: l.wnid, name: l.name, score: l.score })),
    thumbnail: `${photoUrl(p.id)}/thumbnail?size=256`,
    thumbnail_large: `${photoUrl(p.id)}/thumbnail?size=1024`,
  };
  if (p.score !== undefined) s.score = p.score;
  return s;
}
