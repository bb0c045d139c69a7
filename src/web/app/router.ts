// History-API routing: the current location as a signal, navigation without reloads, and link clicks.
import { useSignal, signal } from './signal.js';
import { matchRoute, type Route } from './routes.js';

const location = signal({ pathname: window.location.pathname, search: window.location.search });

window.addEventListener('popstate', () => {
  location.set({ pathname: window.location.pathname, search: window.location.search });
});

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = new URL(to, window.location.origin);
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  location.set({ pathname: url.pathname, search: url.search });
  if (!opts.replace) window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const loc = useSignal(location);
  return matchRoute(loc.pathname, loc.search);
}

/** Intercepts clicks on same-origin `<a href>` so the app navigates without a page load. */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith('/v1/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}
