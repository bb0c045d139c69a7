// Compare two people in everyday categories (Dog, Food, Vehicle), with each side's photos: what both photograph and
// what each photographs more than the other, side by side; the WordNet synsets are secondary detail.
import { api } from '../api.js';
import { Loaded, useAsync } from '../components/async.js';
import { navigate } from '../router.js';
import { href } from '../routes.js';
import type { Asymmetry, CategoryShare, Owner, PhotoSummary, SideExamples } from '../types.js';

/** Nodes too general to say anything about what someone photographs. */
const TOO_GENERAL = new Set([
  'n00001740', // entity
  'n00001930', // physical entity
  'n00002684', // object
  'n00003553', // whole
  'n00002137', // abstraction
  'n00004258', // living thing
  'n00004475', // organism
  'n00021939', // artifact
  'n03575240', // instrumentality
]);
const SHOWN = 12;
const pct = (v: number) => `${Math.round(v * 100)}%`;

function OwnerPicker({ label, value, owners, onChange }: { label: string; value: string | null; owners: Owner[]; onChange: (v: string) => void }) {
  return (
    <label class="picker-label">
      {label}
      <select value={value ?? ''} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">Choose a person…</option>
        {owners.map((o) => (
          <option key={o.name} value={o.name}>
            {o.name} ({o.photos})
          </option>
        ))}
      </select>
    </label>
  );
}

/** Small thumbnails of one side's photos of a concept, linking to the photos. */
function Thumbs({ photos, side, max }: { photos: PhotoSummary[] | undefined; side: 'a' | 'b'; max: number }) {
  const list = (photos ?? []).slice(0, max);
  if (list.length === 0) return null;
  return (
    <span class={`thumbs thumbs-${side}`}>
      {list.map((p) => (
        <a key={p.id} href={href.photo(p.id)} title={`${p.hedged?.name ?? p.labels[0]?.name ?? 'photo'} — ${p.owner}`}>
          <img src={p.thumbnail} alt={p.hedged?.name ?? p.labels[0]?.name ?? 'photo'} loading="lazy" decoding="async" width={64} height={64} />
        </a>
      ))}
    </span>
  );
}

/** One row of a "photographs more" column: everyday category or WordNet synset, with both shares and photos. */
interface MoreRow extends SideExamples {
  key: string;
  name: string;
  wnid: string;
  a: number;
  b: number;
}

function MoreColumn({ who, other, rows, side, testid }: { who: string; other: string; rows: MoreRow[]; side: 'a' | 'b'; testid: string }) {
  const max = Math.max(1e-9, ...rows.flatMap((r) => [r.a, r.b]));
  return (
    <section class={`more more-${side}`} data-testid={testid}>
      <h2>
        <a href={href.person(who)}>{who}</a> photographs more
      </h2>
      {rows.length === 0 && <p class="muted">Nothing stands out.</p>}
      {rows.map((r) => {
        const mine = side === 'a' ? r.a : r.b;
        const theirs = side === 'a' ? r.b : r.a;
        return (
          <div class="pair" key={r.key}>
            <span class="pair-name">
              <a href={href.category(r.wnid, who)}>{r.name}</a>
              <span class="muted small">
                {' '}
                {pct(mine)} vs {pct(theirs)}
              </span>
            </span>
            <div class="pair-bars">
              <div class="bar" title={`${who}: ${pct(mine)} of photos`}>
                <div class={`bar-fill fill-${side}`} style={{ width: `${(mine / max) * 100}%` }} />
              </div>
              <div class="bar" title={`${other}: ${pct(theirs)} of photos`}>
                <div class={`bar-fill fill-${side === 'a' ? 'b' : 'a'}`} style={{ width: `${(theirs / max) * 100}%` }} />
              </div>
            </div>
            <div class="pair-photos">
              <Thumbs photos={side === 'a' ? r.a_examples : r.b_examples} side={side} max={3} />
              <Thumbs photos={side === 'a' ? r.b_examples : r.a_examples} side={side === 'a' ? 'b' : 'a'} max={2} />
            </div>
          </div>
        );
      })}
    </section>
  );
}

const categoryRows = (list: CategoryShare[] | undefined): MoreRow[] => (list ?? []).map((c) => ({ ...c, key: c.id }));
const synsetRows = (list: Asymmetry[]): MoreRow[] =>
  list.filter((r) => !TOO_GENERAL.has(r.wnid)).slice(0, SHOWN).map((r) => ({ ...r, key: r.wnid }));

/** Says plainly that there is nothing to compare when someone has no photos the viewer may see. */
function NothingVisible({ names }: { names: string[] }) {
  return (
    <p class="panel" data-testid="compare-empty">
      {names.join(' and ')} {names.length > 1 ? 'have' : 'has'} no photos you can see, so there is nothing to compare.
      {' '}Their photos may be private: sign in as them, or ask them to share some.
    </p>
  );
}

function Comparison({ a, b, visible }: { a: string; b: string; visible: Set<string> }) {
  const hidden = [a, b].filter((name) => !visible.has(name));
  const result = useAsync(() => (hidden.length > 0 ? Promise.resolve(null) : api.compare(a, b)), [a, b, hidden.length]);
  if (hidden.length > 0) return <NothingVisible names={hidden} />;
  return (
    <Loaded state={result}>
      {(c) => {
        if (!c) return null;
        const empty = [c.a_photos === 0 ? c.a : null, c.b_photos === 0 ? c.b : null].filter((x): x is string => x !== null);
        if (empty.length > 0) return <NothingVisible names={empty} />;
        const everydayShared = c.categories?.shared ?? [];
        const shared = c.shared.filter((s) => !TOO_GENERAL.has(s.wnid)).slice(0, 16);
        const maxShared = Math.max(1e-9, ...shared.map((s) => s.score));
        const minShared = Math.min(maxShared, ...shared.map((s) => s.score));
        const size = (score: number) => 0.85 + (maxShared > minShared ? (0.45 * (score - minShared)) / (maxShared - minShared) : 0.15);
        return (
          <>
            <p class="legend">
              <span class="swatch fill-a" /> {c.a} <span class="swatch fill-b" /> {c.b}
            </p>
            <section class="shared panel" data-testid="shared">
              <h2>Both photograph</h2>
              {everydayShared.length === 0 && shared.length === 0 && <p class="muted">No shared interests found.</p>}
              <div class="shared-examples">
                {everydayShared.map((s) => (
                  <div class="shared-concept" key={s.id}>
                    <span>
                      <a href={href.category(s.wnid)}>{s.name}</a>{' '}
                      <span class="muted small">
                        {pct(s.a)} · {pct(s.b)}
                      </span>
                    </span>
                    <span class="shared-photos">
                      <Thumbs photos={s.a_examples} side="a" max={2} />
                      <Thumbs photos={s.b_examples} side="b" max={2} />
                    </span>
                  </div>
                ))}
              </div>
              {shared.length > 0 && (
                <details class="wordnet">
                  <summary>In WordNet terms</summary>
                  <div class="chips">
                    {shared.map((s) => (
                      <a class="chip" key={s.wnid} href={href.category(s.wnid)} style={{ fontSize: `${size(s.score)}rem` }}>
                        {s.name}
                      </a>
                    ))}
                  </div>
                </details>
              )}
            </section>
            <div class="side-by-side">
              <MoreColumn who={c.a} other={c.b} rows={categoryRows(c.categories?.a_more)} side="a" testid="more-a" />
              <MoreColumn who={c.b} other={c.a} rows={categoryRows(c.categories?.b_more)} side="b" testid="more-b" />
            </div>
            {c.tags && c.tags.shared.length + c.tags.a_more.length + c.tags.b_more.length > 0 && (
              <section class="panel" data-testid="compare-tags">
                <h2>In tags</h2>
                {(
                  [
                    ['Both', c.tags.shared],
                    [`More ${c.a}`, c.tags.a_more],
                    [`More ${c.b}`, c.tags.b_more],
                  ] as const
                )
                  .filter(([, list]) => list.length > 0)
                  .map(([title, list]) => (
                    <p class="chips" key={title}>
                      <span class="chips-title">{title}:</span>
                      {list.map((t) => (
                        <a class="chip chip-tag" key={t.id} href={href.tag(t.id)} data-tag={t.id}>
                          {t.name}{' '}
                          <span class="count">
                            {pct(t.a)} · {pct(t.b)}
                          </span>
                        </a>
                      ))}
                    </p>
                  ))}
              </section>
            )}
            <details class="wordnet" data-testid="wordnet-detail">
              <summary>More detail, in WordNet terms</summary>
              <div class="side-by-side">
                <MoreColumn who={c.a} other={c.b} rows={synsetRows(c.a_more)} side="a" testid="wordnet-more-a" />
                <MoreColumn who={c.b} other={c.a} rows={synsetRows(c.b_more)} side="b" testid="wordnet-more-b" />
              </div>
            </details>
          </>
        );
      }}
    </Loaded>
  );
}

export function ComparePage({ a, b }: { a: string | null; b: string | null }) {
  const owners = useAsync(() => api.owners(), []);
  document.title = a && b ? `${a} and ${b} — Pictograph` : 'Compare — Pictograph';
  return (
    <div class="page compare">
      <h1>Compare two people</h1>
      <Loaded state={owners}>
        {({ owners: list }) => (
          <div class="pickers">
            <OwnerPicker label="First" value={a} owners={list} onChange={(v) => navigate(href.compare(v, b), { replace: true })} />
            <span class="vs">and</span>
            <OwnerPicker label="Second" value={b} owners={list} onChange={(v) => navigate(href.compare(a, v), { replace: true })} />
          </div>
        )}
      </Loaded>
      {a && b && a !== b ? (
        <Loaded state={owners}>{({ owners: list }) => <Comparison a={a} b={b} visible={new Set(list.map((o) => o.name))} />}</Loaded>
      ) : (
        <p class="muted">Pick two different people to compare what they photograph.</p>
      )}
    </div>
  );
}
