// The signed-in state. The browser holds an HttpOnly session cookie the app never sees (so <img> requests carry
// the owner and no script can steal a secret); sign-in exchanges a pasted API token or a one-time sign-in link's
// code for it, sign-out revokes it. `me` says who the cookie belongs to (`GET /v1/me`).
import { api } from './api.js';
import { signal } from './signal.js';
import type { Me } from './types.js';

/** Who the viewer is; `owner: null` = anonymous (public photos only). */
export const me = signal<Me>({ owner: null, admin: false });

/** A message for the whole page (e.g. an expired sign-in link), shown until dismissed. */
export const notice = signal<string | null>(null);

/** Asks the server who the session cookie belongs to. */
export async function refreshMe(): Promise<void> {
  try {
    me.set(await api.me());
  } catch (err) {
    me.set({ owner: null, admin: false });
    throw err;
  }
}

/** Signs this browser in with an API token or a sign-in code (the server sets the cookie). */
export async function signIn(credential: { token: string } | { code: string }): Promise<void> {
  const who = await api.signIn(credential);
  me.set({ owner: who.owner, admin: who.admin });
}

/** Signs out: the server revokes the session and clears the cookie. */
export async function signOut(): Promise<void> {
  await api.signOut();
  me.set({ owner: null, admin: false });
}

/**
 * One-click sign-in: `pictograph up` prints `/signin#code=...`. The code is taken out of the address bar at once
 * (it works only once anyway), exchanged for a session, and the app opens at `/`.
 */
export async function redeemSignInLink(): Promise<void> {
  if (window.location.pathname !== '/signin') return;
  const code = new URLSearchParams(window.location.hash.slice(1)).get('code');
  history.replaceState(null, '', '/');
  if (!code) {
    notice.set('This sign-in link has no code in it; copy the whole link that `pictograph up` printed.');
    return;
  }
  try {
    await signIn({ code });
  } catch (err) {
    notice.set(err instanceof Error ? err.message : 'Signing in failed.');
  }
}

/** Earlier versions kept the API token in localStorage: trade it for a session once and forget it. */
export async function migrateStoredToken(): Promise<void> {
  const KEY = 'pictograph.token';
  let token: string | null = null;
  try {
    token = localStorage.getItem(KEY);
    if (token) localStorage.removeItem(KEY);
  } catch {
    return;
  }
  if (token) await signIn({ token }).catch(() => undefined);
}
