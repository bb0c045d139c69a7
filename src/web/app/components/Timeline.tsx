// An animation's concept timeline under its player: a strip of keyframes (with their time) and the scenes
// as bars proportional to their time on screen, each with its hedged and top labels.
import { href } from '../routes.js';
import type { Timeline } from '../types.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

export function TimelineStrip({ timeline }: { timeline: Timeline }) {
  const total = Math.max(1, timeline.duration_ms);
  return (
    <section class="timeline" data-testid="timeline">
      <div class="keyframes" data-testid="keyframe-strip">
        {timeline.keyframes.map((k) => (
          <figure key={k.frame} class={`keyframe ${k.reason}`} title={`frame ${k.frame + 1} at ${seconds(k.t_ms)} (${k.reason})`}>
            {k.thumbnail ? <img src={k.thumbnail} alt={`frame ${k.frame + 1}`} loading="lazy" /> : <div class="keyframe-missing" />}
            <figcaption class="muted small">{seconds(k.t_ms)}</figcaption>
          </figure>
        ))}
      </div>
      <div class="segments" data-testid="timeline-segments">
        {timeline.segments.map((s) => {
          const label = s.hedged ?? s.labels[0];
          return (
            <div key={s.start_ms} class="segment" style={{ flexGrow: Math.max(1, s.end_ms - s.start_ms) / total }} title={`${seconds(s.start_ms)} – ${seconds(s.end_ms)}`}>
              <span class="segment-time muted small">
                {seconds(s.start_ms)}–{seconds(s.end_ms)}
              </span>
              {label && (
                <a href={href.category(label.wnid)} class="segment-label">
                  {label.name}
                </a>
              )}
              {s.hedged && s.labels[0] && s.labels[0].wnid !== s.hedged.wnid && <span class="muted small"> ({s.labels[0].name})</span>}
            </div>
          );
        })}
      </div>
      <p class="muted small">
        {timeline.frames} frames, {seconds(timeline.duration_ms)}
        {timeline.notice && <> · {timeline.notice}</>}
      </p>
    </section>
  );
}
