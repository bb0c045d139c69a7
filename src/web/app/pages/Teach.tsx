// Teach a concept: the signed-in owner picks example photos of their own, names the concept and trains it, then
// sees their photos ranked by it and answers "right?" / "wrong?" on each (every answer retrains the concept).
// Concepts are private: only their owner (or an admin) can see or change them.
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError } from '../api.js';
import { me } from '../auth.js';
import { asApiError, ErrorNote } from '../components/async.js';
import { href } from '../routes.js';
import { useSignal } from '../signal.js';
import type { CustomConcept, PhotoSummary } from '../types.js';

const pct = (x: number) => `${Math.round(x * 100)}%`;

function Report({ concept }: { concept: CustomConcept }) {
  const v = concept.report.validation;
  return (
    <div class="teach-report" data-testid="teach-report">
      <p>
        <strong>{concept.name}</strong> learnt from {concept.positives} example{concept.positives === 1 ? '' : 's'} and {concept.negatives} other
        photos; it tags {concept.photos} of your photos
        {concept.photos > 0 && (
          <>
            {' '}
            (<a href={href.tag(concept.id)} data-testid="teach-tag-link">see them</a>)
          </>
        )}
        .
      </p>
      <p class="muted small">
        Checked on {v.examples} held-out photos: precision {pct(v.precision)}, recall {pct(v.recall)}, F1 {pct(v.f1)}.
      </p>
      {concept.report.diagnosis.length > 0 && (
        <ul class="small" data-testid="teach-diagnosis">
          {concept.report.diagnosis.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function TeachPage() {
  const viewer = useSignal(me);
  const owner = viewer.owner;
  const [photos, setPhotos] = useState<PhotoSummary[]>([]);
  const [picked, setPicked] = useState<Set<string | number>>(new Set());
  const [name, setName] = useState('');
  const [concept, setConcept] = useState<CustomConcept | null>(null);
  const [ranked, setRanked] = useState<Array<PhotoSummary & { score?: number; tagged?: boolean }>>([]);
  const [answered, setAnswered] = useState<Map<string | number, boolean>>(new Map());
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  document.title = 'Teach a concept — Pictograph';

  useEffect(() => {
    if (!owner) return;
    let live = true;
    api.photos({ owner, limit: 48 }).then(
      (p) => live && setPhotos(p.photos),
      (err: unknown) => live && setError(asApiError(err)),
    );
    return () => {
      live = false;
    };
  }, [owner]);

  if (!owner) {
    return (
      <div class="page">
        <h1>Teach a concept</h1>
        <p>Sign in to teach Pictograph a concept of your own from your photos.</p>
      </div>
    );
  }

  const refresh = async (c: CustomConcept) => {
    setConcept(c);
    setRanked((await api.conceptPhotos(owner, c.name)).photos);
  };

  const train = async () => {
    setBusy('Training…');
    setError(null);
    try {
      const c = await api.teachConcept(owner, name.trim(), [...picked]);
      setAnswered(new Map());
      await refresh(c);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(null);
    }
  };

  const answer = async (photo: string | number, correct: boolean) => {
    if (!concept) return;
    setBusy('Retraining…');
    setError(null);
    try {
      const c = await api.conceptFeedback(owner, concept.name, photo, correct);
      setAnswered(new Map(answered).set(photo, correct));
      await refresh(c);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(null);
    }
  };

  const toggle = (id: string | number) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };

  return (
    <div class="page teach">
      <h1>Teach a concept</h1>
      <p class="muted">Name what you want Pictograph to find, pick photos that show it, and train. Only you see your concepts.</p>
      <label class="teach-name">
        Concept name{' '}
        <input
          type="text"
          data-testid="concept-name"
          value={name}
          maxLength={64}
          placeholder="e.g. my-bike"
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </label>
      <h2>Photos that show it ({picked.size} picked)</h2>
      <div class="grid">
        {photos.map((p) => (
          <button
            type="button"
            key={p.id}
            class={`tile pick ${picked.has(p.id) ? 'picked' : ''}`}
            aria-pressed={picked.has(p.id)}
            data-testid="example-photo"
            onClick={() => toggle(p.id)}
          >
            <img src={p.thumbnail} loading="lazy" alt={p.hedged?.name ?? p.labels[0]?.name ?? 'photo'} width={256} height={256} />
            <span class="tile-label">{picked.has(p.id) ? '✓ example' : (p.hedged?.name ?? p.labels[0]?.name ?? '')}</span>
          </button>
        ))}
      </div>
      <p>
        <button type="button" data-testid="train" disabled={busy !== null || picked.size === 0 || name.trim() === ''} onClick={() => void train()}>
          {concept && concept.name === name.trim() ? 'Retrain' : 'Train'}
        </button>{' '}
        {busy && <span class="muted" role="status">{busy}</span>}
      </p>
      {error && <ErrorNote error={error} />}
      {concept && <Report concept={concept} />}
      {concept && (
        <>
          <h2>Your photos ranked by “{concept.name}”</h2>
          <p class="muted small">Photos at or above the concept’s threshold carry the tag; answer to teach it more.</p>
          <ol class="ranked" data-testid="ranked">
            {ranked.map((p) => (
              <li key={p.id} data-testid="ranked-photo" data-tagged={p.tagged ? 'yes' : 'no'}>
                <a href={href.photo(p.id)}>
                  <img src={p.thumbnail} alt={p.hedged?.name ?? 'photo'} width={128} height={128} loading="lazy" />
                </a>
                <span class="score">
                  {pct(p.score ?? 0)} {p.tagged ? <strong>tagged “{concept.name}”</strong> : <span class="muted">not tagged</span>}
                </span>
                {answered.has(p.id) ? (
                  <span class="muted small">{answered.get(p.id) ? 'You said right' : 'You said wrong'}</span>
                ) : (
                  <span class="answers">
                    Right?{' '}
                    <button type="button" disabled={busy !== null} onClick={() => void answer(p.id, true)}>
                      Yes
                    </button>{' '}
                    <button type="button" disabled={busy !== null} onClick={() => void answer(p.id, false)}>
                      No
                    </button>
                  </span>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
