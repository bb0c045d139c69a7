// Upload: drop photos to classify them on the spot (nothing stored) or add them to your library, with
// per-file progress and clear errors.
import { useState } from 'preact/hooks';
import { ApiError, uploadFile } from '../api.js';
import { me } from '../auth.js';
import { Bar } from '../components/Bar.js';
import { asApiError } from '../components/async.js';
import { href } from '../routes.js';
import { useSignal } from '../signal.js';
import type { Classification, UploadResult, PhotoSummary } from '../types.js';

type Mode = 'classify' | 'library';

interface Item {
  key: number;
  file: File;
  progress: number;
  state: 'queued' | 'uploading' | 'working' | 'done' | 'failed';
  classification?: Classification;
  photo?: PhotoSummary;
  /** Cluster mode: the upload became an ingest job (workers store it shortly). */
  job?: string;
  error?: string;
}

const MAX_PARALLEL = 2;
let nextKey = 1;

function describe(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

function ItemRow({ item }: { item: Item }) {
  const c = item.classification;
  return (
    <li class={`upload-item ${item.state}`} data-testid="upload-item" data-state={item.state}>
      <div class="upload-head">
        <span class="file-name">{item.file.name}</span>
        <span class="muted small">{describe(item.file.size)}</span>
        <span class="upload-state">
          {item.state === 'queued' && 'Waiting'}
          {item.state === 'uploading' && `Uploading ${Math.round(item.progress * 100)}%`}
          {item.state === 'working' && 'Classifying…'}
          {item.state === 'done' && 'Done'}
          {item.state === 'failed' && 'Failed'}
        </span>
      </div>
      <div class="bar progress">
        <div class="bar-fill" style={{ width: `${item.state === 'queued' ? 0 : item.state === 'uploading' ? item.progress * 100 : 100}%` }} />
      </div>
      {item.error && (
        <p class="error" role="alert">
          {item.error}
        </p>
      )}
      {c && (
        <div class="upload-result" data-testid="upload-labels">
          {c.hedged && (
            <p>
              Most likely: <a href={href.category(c.hedged.wnid)}>{c.hedged.name}</a>
              {c.path.length > 1 && <span class="muted small"> ({c.path.slice(1, 4).map((s) => s.name).join(' → ')})</span>}
            </p>
          )}
          {c.concepts.map((k) => (
            <Bar key={k.id} label={k.name} value={k.value} href={href.category(k.id)} />
          ))}
          {c.categories.length > 0 && <p class="muted small">Categories: {c.categories.map((k) => k.name).join(', ')}</p>}
        </div>
      )}
      {item.job && <p class="muted small">Queued: it appears in your library once a worker has classified it.</p>}
      {item.photo && (
        <div class="upload-result" data-testid="upload-labels">
          <a href={href.photo(item.photo.id)} class="upload-thumb">
            <img src={item.photo.thumbnail} alt={item.photo.hedged?.name ?? 'uploaded photo'} loading="lazy" />
          </a>
          <div>
            <p>
              Added to your library: <a href={href.photo(item.photo.id)}>{item.photo.hedged?.name ?? item.photo.labels[0]?.name ?? 'photo'}</a>
            </p>
            {item.photo.labels.map((l) => (
              <Bar key={l.wnid} label={l.name} value={l.score} href={href.category(l.wnid)} />
            ))}
          </div>
        </div>
      )}
    </li>
  );
}

export function UploadPage() {
  const viewer = useSignal(me);
  const [mode, setMode] = useState<Mode>('classify');
  const [visibility, setVisibility] = useState<'private' | 'public'>('private');
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  document.title = 'Upload — Pictograph';
  const effectiveMode: Mode = viewer.owner ? mode : 'classify';

  const update = (key: number, patch: Partial<Item>) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const send = async (item: Item, m: Mode, vis: string): Promise<void> => {
    if (item.file.type && !item.file.type.startsWith('image/')) {
      update(item.key, { state: 'failed', error: `Not an image (${item.file.type}). Choose JPEG, PNG, WebP, GIF, TIFF or AVIF files.` });
      return;
    }
    if (item.file.size === 0) {
      update(item.key, { state: 'failed', error: 'The file is empty.' });
      return;
    }
    update(item.key, { state: 'uploading', progress: 0 });
    const onProgress = (f: number) => update(item.key, f >= 1 ? { progress: 1, state: 'working' } : { progress: f });
    try {
      if (m === 'classify') {
        const c = await uploadFile<Classification>('/v1/classify?top=5', item.file, { multipart: false, onProgress });
        update(item.key, { state: 'done', classification: c });
      } else {
        const r = await uploadFile<{ results?: UploadResult[]; jobs?: Array<{ job?: { id: string }; error?: { code: string; message: string } }> }>('/v1/photos', item.file, { multipart: true, fields: { visibility: vis }, onProgress });
        const queued = r.jobs?.[0];
        if (queued) {
          if (queued.error) update(item.key, { state: 'failed', error: `${queued.error.message} (${queued.error.code})` });
          else update(item.key, { state: 'done', job: queued.job?.id });
          return;
        }
        const result = r.results?.[0];
        if (!result) throw new ApiError(500, 'bad_response', 'The server did not report on this file.');
        if (result.error) update(item.key, { state: 'failed', error: `${result.error.message} (${result.error.code})` });
        else update(item.key, { state: 'done', photo: result.photo });
      }
    } catch (err) {
      const e = asApiError(err);
      const hint = e.status === 429 ? ' The server is busy; try again in a moment.' : e.status === 401 ? ' Sign in first.' : '';
      update(item.key, { state: 'failed', error: `${e.message}${hint}` });
    }
  };

  const addFiles = (files: FileList | File[] | null) => {
    if (!files || files.length === 0) return;
    const added: Item[] = Array.from(files).map((file) => ({ key: nextKey++, file, progress: 0, state: 'queued' }));
    setItems((all) => [...added, ...all]);
    const m = effectiveMode;
    const vis = visibility;
    const queue = [...added];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) await send(item, m, vis);
    };
    for (let i = 0; i < Math.min(MAX_PARALLEL, queue.length); i++) void worker();
  };

  return (
    <div class="page upload">
      <h1>Upload photos</h1>
      <div class="modes" role="radiogroup" aria-label="What to do with the photos">
        <label>
          <input type="radio" name="mode" value="classify" checked={effectiveMode === 'classify'} onChange={() => setMode('classify')} />
          Classify only <span class="muted small">(nothing is stored)</span>
        </label>
        <label class={viewer.owner ? '' : 'disabled'}>
          <input type="radio" name="mode" value="library" disabled={!viewer.owner} checked={effectiveMode === 'library'} onChange={() => setMode('library')} />
          Add to my library {!viewer.owner && <span class="muted small">(sign in first)</span>}
        </label>
        {effectiveMode === 'library' && (
          <select value={visibility} aria-label="Visibility" onChange={(e) => setVisibility(e.currentTarget.value as 'private' | 'public')}>
            <option value="private">Private: only me</option>
            <option value="public">Public: everyone can explore</option>
          </select>
        )}
      </div>
      <label
        class={`dropzone ${dragging ? 'dragging' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          addFiles(e.dataTransfer?.files ?? null);
        }}
      >
        <input
          type="file"
          accept="image/*"
          multiple
          onChange={(e) => {
            addFiles(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <span class="drop-title">Drop photos here</span>
        <span class="muted">or click to choose files</span>
      </label>
      {items.length > 0 && (
        <ul class="upload-list">
          {items.map((i) => (
            <ItemRow key={i.key} item={i} />
          ))}
        </ul>
      )}
    </div>
  );
}
