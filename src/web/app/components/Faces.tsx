// Faces: a face crop fetched with the owner's credentials, an editable person name, and the photo overlay that
// outlines each face with its name and a "not this person" button.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { api, authorizedImage } from '../api.js';
import { href } from '../routes.js';
import type { Face } from '../types.js';

export function FaceCrop({ faceId, label }: { faceId: number; label: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    authorizedImage(`/v1/faces/${faceId}/thumbnail`).then(
      (u) => (live ? setSrc((url = u)) : URL.revokeObjectURL(u)),
      () => undefined,
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [faceId]);
  return src ? <img class="face-crop" src={src} alt={label} width={96} height={96} /> : <span class="face-crop face-crop-empty" aria-label={label} />;
}

/** A person's name as an input: Enter or leaving the field saves it. */
export function PersonName({ id, name, onSaved }: { id: number; name: string | null; onSaved?: (name: string | null) => void }) {
  const [value, setValue] = useState(name ?? '');
  const [state, setState] = useState<'idle' | 'saving' | 'saved' | 'error'>('idle');
  useEffect(() => setValue(name ?? ''), [name]);
  const save = async () => {
    const next = value.trim() === '' ? null : value.trim();
    if (next === (name ?? null)) return;
    setState('saving');
    try {
      const p = await api.namePerson(id, next);
      setState('saved');
      onSaved?.(p.name);
    } catch {
      setState('error');
    }
  };
  return (
    <form
      class="person-name"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <input
        type="text"
        aria-label={`Name of person ${id}`}
        placeholder="Add a name"
        value={value}
        maxLength={200}
        onInput={(e) => setValue(e.currentTarget.value)}
        onBlur={() => void save()}
      />
      <span class="muted small" role="status">
        {state === 'saving' ? 'Saving…' : state === 'saved' ? 'Saved' : state === 'error' ? 'Not saved' : ''}
      </span>
    </form>
  );
}

/** The photo with each face outlined (boxes are in original pixels: placed as percentages). */
export function FaceFrame({ width, height, faces, children }: { width: number; height: number; faces: Face[]; children: ComponentChildren }) {
  return (
    // The frame has the photo's aspect ratio and at most 80vh of height, so the image fills it exactly.
    <div class="face-frame" style={width > 0 && height > 0 ? { aspectRatio: `${width} / ${height}`, width: `min(100%, calc(80vh * ${(width / height).toFixed(4)}))` } : undefined}>
      {children}
      {faces.map((f) => (
        <a
          key={f.id}
          class="face-box"
          data-testid="face-box"
          href={f.person ? href.peoplePerson(f.person.id) : undefined}
          title={f.person?.name ?? 'Unnamed person'}
          style={{
            left: `${(100 * f.box[0]) / width}%`,
            top: `${(100 * f.box[1]) / height}%`,
            width: `${(100 * f.box[2]) / width}%`,
            height: `${(100 * f.box[3]) / height}%`,
          }}
        >
          {f.person?.name && <span class="face-name">{f.person.name}</span>}
        </a>
      ))}
    </div>
  );
}

/** The faces of a photo as a list: who, and "not this person". */
export function FaceList({ faces, onChange }: { faces: Face[]; onChange: () => void }) {
  if (faces.length === 0) return null;
  return (
    <section>
      <h3>People</h3>
      <ul class="face-list">
        {faces.map((f) => (
          <li key={f.id}>
            {f.person ? <a href={href.peoplePerson(f.person.id)}>{f.person.name ?? 'Unnamed person'}</a> : <span>Unknown</span>}
            {f.person && f.person.id > 0 && (
              <button
                type="button"
                class="link-button"
                onClick={async () => {
                  await api.rejectFace(f.id);
                  onChange();
                }}
              >
                Not {f.person.name ?? 'this person'}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
