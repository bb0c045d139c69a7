// Photo grids: lazy-loaded 256 px thumbnails linking to photo pages, and an infinitely scrolling variant.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../routes.js';
import type { PhotoSummary } from '../types.js';
import { asApiError, ErrorNote } from './async.js';
import type { ApiError } from '../api.js';

export function PhotoTile({ photo, onLoad }: { photo: PhotoSummary; onLoad?: () => void }) {
  const label = photo.hedged?.name ?? photo.labels[0]?.name ?? 'photo';
  return (
    <a class="tile" href={href.photo(photo.id)} title={`${label} — ${photo.owner}`}>
      <img src={photo.thumbnail} loading="lazy" decoding="async" alt={label} width={256} height={256} onLoad={onLoad} onError={onLoad} />
      <span class="tile-label">{label}</span>
    </a>
  );
}

export function PhotoGrid({ photos, onTileLoad }: { photos: PhotoSummary[]; onTileLoad?: (index: number) => void }) {
  return (
    <div class="grid" data-testid="photo-grid">
      {photos.map((p, i) => (
        <PhotoTile key={p.id} photo={p} onLoad={onTileLoad && (() => onTileLoad(i))} />
      ))}
    </div>
  );
}

const PAGE = 48;
/** Tiles that make up "the first screen". */
const FIRST_SCREEN = 12;

/**
 * All photos under a synset (optionally one owner's), best first, loading more as the end scrolls into view.
 * `onFirstScreen` fires once the first screen of thumbnails has loaded (or there is nothing to show), so a
 * page can hold back less urgent requests until then.
 */
/** Photos under a synset (`under`) or carrying a tag (`tag`), best first, loaded page by page as they scroll in. */
export function InfinitePhotoGrid({ under, tag, owner, onFirstScreen }: { under?: string; tag?: string; owner: string | null; onFirstScreen?: () => void }) {
  const [photos, setPhotos] = useState<PhotoSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);
  const firstLoaded = useRef(new Set<number>());
  const firstFired = useRef(false);
  const fireFirstScreen = () => {
    if (!firstFired.current) {
      firstFired.current = true;
      onFirstScreen?.();
    }
  };
  const onTileLoad = (index: number) => {
    if (index >= FIRST_SCREEN) return;
    firstLoaded.current.add(index);
    if (firstLoaded.current.size >= Math.min(FIRST_SCREEN, photos.length)) fireFirstScreen();
  };

  const loadMore = (gen: number, from: string | null) => {
    setBusy(true);
    api.photos({ under, tag, owner: owner ?? undefined, cursor: from, limit: PAGE }).then(
      (page) => {
        if (gen !== generation.current) return;
        setPhotos((prev) => (from === null ? page.photos : [...prev, ...page.photos]));
        if (from === null && page.photos.length === 0) fireFirstScreen();
        setCursor(page.next_cursor);
        setDone(page.next_cursor === null);
        setBusy(false);
      },
      (err: unknown) => {
        if (gen !== generation.current) return;
        setError(asApiError(err));
        setBusy(false);
        fireFirstScreen();
      },
    );
  };

  useEffect(() => {
    generation.current += 1;
    setPhotos([]);
    setCursor(null);
    setDone(false);
    setError(null);
    firstLoaded.current = new Set();
    firstFired.current = false;
    loadMore(generation.current, null);
    // Thumbnails far below the fold may never load (lazy); do not hold the page back for long.
    const fallback = setTimeout(fireFirstScreen, 2500);
    return () => clearTimeout(fallback);
  }, [under, tag, owner]);

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
      {photos.length > 0 && <PhotoGrid photos={photos} onTileLoad={onTileLoad} />}
      {error && <ErrorNote error={error} />}
      {!error && done && photos.length === 0 && <p class="muted">No photos here yet.</p>}
      {busy && <div class="loading">Loading photos…</div>}
      <div ref={sentinel} class="sentinel" aria-hidden="true" />
    </>
  );
}
