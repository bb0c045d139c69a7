// "Was this right?": the viewer judges the model's label, picking the right concept when it was wrong.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { href } from '../routes.js';
import type { FeedbackEntry, PhotoDetail, SynsetHit } from '../types.js';
import { asApiError } from './async.js';
import { me } from '../auth.js';
import { useSignal } from '../signal.js';

function ConceptPicker({ onPick, onCancel }: { onPick: (s: SynsetHit | null) => void; onCancel: () => void }) {
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<SynsetHit[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const query = q.trim();
    if (query.length < 2) {
      setHits([]);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.suggest(query, 8).then(
        (r) => live && (setHits(r.synsets), setError(null)),
        (err: unknown) => live && setError(asApiError(err).message),
      );
    }, 150);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q]);
  return (
    <div class="picker">
      <label>
        What is it?
        <input
          type="search"
          name="concept"
          placeholder="Type a word: beagle, teapot, seashore…"
          autoFocus
          autoComplete="off"
          value={q}
          onInput={(e) => setQ(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && hits.length > 0) {
              e.preventDefault();
              onPick(hits[0]);
            } else if (e.key === 'Escape') {
              onCancel();
            }
          }}
        />
      </label>
      {error && <p class="error">{error}</p>}
      <ul class="suggestions" role="listbox">
        {hits.map((s) => (
          <li key={s.wnid}>
            <button type="button" class="suggestion" data-wnid={s.wnid} onClick={() => onPick(s)}>
              <strong>{s.name}</strong> <span class="muted">{s.gloss}</span>
            </button>
          </li>
        ))}
      </ul>
      <div class="row">
        <button type="button" class="secondary" onClick={() => onPick(null)}>
          Just wrong, skip
        </button>
        <button type="button" class="link-button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function StoredAnswer({ entry, name, onChange }: { entry: FeedbackEntry; name: string | null; onChange: () => void }) {
  return (
    <div class="feedback-stored" data-testid="feedback-stored">
      {entry.correct ? (
        <p>
          <span class="yes">✓</span> You said the label was <strong>right</strong>.
        </p>
      ) : (
        <p>
          <span class="no">✗</span> You said the label was <strong>wrong</strong>
          {entry.wnid && (
            <>
              {' '}— it is <a href={href.category(entry.wnid)}>{name ?? entry.name ?? entry.wnid}</a>
            </>
          )}
          .
        </p>
      )}
      <p class="muted small">
        Thank you — stored {new Date(entry.at).toLocaleString()}.{' '}
        <button type="button" class="link-button" onClick={onChange}>
          Change answer
        </button>
      </p>
    </div>
  );
}

// Anonymous answers are stored by the server but not listed back to anyone, so this browser remembers them.
const localKey = (id: string | number) => `pictograph.feedback.${id}`;

function rememberedAnswer(id: string | number): FeedbackEntry | null {
  try {
    const raw = localStorage.getItem(localKey(id));
    return raw ? (JSON.parse(raw) as FeedbackEntry) : null;
  } catch {
    return null;
  }
}

function remember(id: string | number, entry: FeedbackEntry): void {
  try {
    localStorage.setItem(localKey(id), JSON.stringify(entry));
  } catch {
    /* storage disabled */
  }
}

export function Feedback({ photo }: { photo: PhotoDetail }) {
  const viewer = useSignal(me);
  const own = photo.feedback ?? [];
  const latest = own.length > 0 ? own[own.length - 1] : viewer.owner ? null : rememberedAnswer(photo.id);
  const [stored, setStored] = useState<FeedbackEntry | null>(latest);
  const [storedName, setStoredName] = useState<string | null>(null);
  const [mode, setMode] = useState<'ask' | 'pick'>('ask');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setStored(latest);
    setMode('ask');
    setError(null);
  }, [photo.id]);

  useEffect(() => {
    if (stored && !stored.correct && stored.wnid && !stored.name && !storedName) {
      api.synset(stored.wnid).then((s) => setStoredName(s.name), () => undefined);
    }
  }, [stored]);

  const send = (correct: boolean, pick?: SynsetHit | null) => {
    setBusy(true);
    setError(null);
    api.feedback(photo.id, pick ? { correct, wnid: pick.wnid } : { correct }).then(
      (r) => {
        setStored(r.feedback);
        if (!r.feedback.owner) remember(photo.id, r.feedback);
        setStoredName(pick?.name ?? null);
        setBusy(false);
      },
      (err: unknown) => {
        const e = asApiError(err);
        setError(e.status === 401 ? `${e.message} Sign in (top right) to answer.` : e.message);
        setBusy(false);
      },
    );
  };

  const said = photo.hedged?.name ?? photo.labels[0]?.name ?? 'this';
  return (
    <section class="feedback panel" aria-label="Feedback">
      {stored ? (
        <StoredAnswer entry={stored} name={storedName} onChange={() => (setStored(null), setMode('ask'))} />
      ) : mode === 'ask' ? (
        <div class="ask">
          <h3>Was this right?</h3>
          <p class="muted">
            We said <strong>{said}</strong>.
          </p>
          <div class="row">
            <button type="button" disabled={busy} onClick={() => send(true)}>
              Yes
            </button>
            <button type="button" disabled={busy} class="secondary" onClick={() => setMode('pick')}>
              No
            </button>
          </div>
        </div>
      ) : (
        <ConceptPicker onPick={(s) => send(false, s)} onCancel={() => setMode('ask')} />
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
