// A labelled confidence bar (0..1), used for labels, concepts and comparisons.
export function Bar({ label, value, href, note }: { label: string; value: number; href?: string; note?: string }) {
  const pct = Math.max(0, Math.min(1, value)) * 100;
  const name = href ? <a href={href}>{label}</a> : <span>{label}</span>;
  return (
    <div class="bar-row">
      <div class="bar-text">
        {name}
        <span class="bar-value">{note ?? (pct > 0 && pct < 0.1 ? '<0.1%' : `${pct.toFixed(pct >= 10 ? 0 : 1)}%`)}</span>
      </div>
      <div class="bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)} aria-label={label}>
        <div class="bar-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
