// Photo grids: lazy-loaded 256 px thumbnails linking to photo pages, and an infinitely scrolling variant.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../routes.js';
import type { PhotoSummary } from '../types.js';
import { asApiError, ErrorNote } from './async.js';
import type { ApiError } from '../api.js';

export function PhotoTile({ photo }: { photo: PhotoSummary }) {
  const label = photo.hedged?.name ?? photo.labels[0]?.name ?? 'photo';
  return (
    <a class="tile" href={href.photo(photo.id)} title={`${label} — ${photo.owner}`}>
      <img src={photo.thumbnail} loading="lazy" decoding="async" alt={label} width={256} height={256} />
      <span class="tile-label">{label}</span>
    </a>
  );
}

export function PhotoGrid({ photos }: { photos: PhotoSummary[] }) {
  return (
    <div class="grid" data-testid="photo-grid">
      {photos.map((p) => (
        <PhotoTile key={p.id} photo={p} />
      ))}
    </div>
  );
}

const PAGE = 48;

/** All photos under a synset (optionally one owner's), best first, loading more as the end scrolls into view. */
export function InfinitePhotoGrid({ under, owner }: { under: string; owner: string | null }) {
  const [photos, setPhotos] = useState<PhotoSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  const loadMore = (gen: number, from: string | null) => {
    setBusy(true);
    api.photos({ under, owner: owner ?? undefined, cursor: from, limit: PAGE }).then(
      (page) => {
        if (gen !== generation.current) return;
        setPhotos((prev) => (from === null ? page.photos : [...prev, ...page.photos]));
        setCursor(page.next_cursor);
        setDone(page.next_cursor === null);
        setBusy(false);
      },
      (err: unknown) => {
        if (gen !== generation.current) return;
        setError(asApiError(err));
        setBusy(false);
      },
    );
  };

  useEffect(() => {
    generation.current += 1;
    setPhotos([]);
    setCursor(null);
    setDone(false);
    setError(null);
    loadMore(generation.current, null);
  }, [under, owner]);

  useEffect(() => {
    const el = sentinel.current;
    if (!el || done || busy || error || cursor === null) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          observer.disconnect();
          loadMore(generation.current, cursor);
        }
      },
      { rootMargin: '800px 0px' },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [cursor, done, busy, error]);

  return (
    <>
      {photos.length > 0 && <PhotoGrid photos={photos} />}
      {error && <ErrorNote error={error} />}
      {!error && done && photos.length === 0 && <p class="muted">No photos here yet.</p>}
      {busy && <div class="loading">Loading photos…</div>}
      <div ref={sentinel} class="sentinel" aria-hidden="true" />
    </>
  );
}
