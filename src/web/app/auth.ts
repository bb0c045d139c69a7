// The signed-in state: a pasted API token kept in localStorage, and who it belongs to (`GET /v1/me`).
import { signal } from './signal.js';
import type { Me } from './types.js';

const KEY = 'pictograph.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the token lives for this page only */
  }
}

/** Who the viewer is; `owner: null` = anonymous (public photos only). */
export const me = signal<Me>({ owner: null, admin: false });
