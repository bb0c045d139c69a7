// HTTP client for the Pictograph API: same-origin JSON requests that carry the session cookie and the app's CSRF
// header, errors as ApiError.
import type {
  Classification, Comparison, Me, Owner, PhotoDetail, PhotoPage, Profile, SynsetDetail, SynsetHit, Category,
  UploadResult, FeedbackEntry, PhotoSummary, TreeNode, SearchResult, Face, PersonCluster, CustomConcept, TagDetail,
} from './types.js';

/** An API failure with the server's stable error code and human message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Sent with every request: proves to the server that the app, not a foreign page, is acting with the cookie. */
const CSRF_HEADERS: Record<string, string> = { 'x-pictograph-csrf': '1' };

/** Turns a failed response body into an ApiError (server JSON errors, or plain text, or nothing). */
export function errorFrom(status: number, body: string): ApiError {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) return new ApiError(status, parsed.error.code ?? 'error', parsed.error.message);
  } catch {
    /* not JSON */
  }
  const text = body.trim().slice(0, 200);
  return new ApiError(status, `http_${status}`, text || `The server answered ${status}.`);
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...CSRF_HEADERS };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the Pictograph server.');
  }
  const text = await res.text();
  if (!res.ok) throw errorFrom(res.status, text);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

function qs(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

export const api = {
  me: () => request<Me>('GET', '/v1/me'),
  signIn: (credential: { token: string } | { code: string }) =>
    request<Me & { expires_at: string }>('POST', '/v1/session', credential),
  signOut: () => request<void>('DELETE', '/v1/session'),
  categories: (owner?: string) => request<{ categories: Category[] }>('GET', `/v1/categories${qs({ owner })}`),
  categoryTree: (owner?: string) => request<TreeNode>('GET', `/v1/categories/tree${qs({ owner })}`),
  synset: (wnid: string) => request<SynsetDetail>('GET', `/v1/synsets/${encodeURIComponent(wnid)}`),
  suggest: (q: string, limit = 10) => request<{ synsets: SynsetHit[] }>('GET', `/v1/synsets${qs({ q, limit })}`),
  tag: (id: string, owner?: string) => request<TagDetail>('GET', `/v1/tags/${encodeURIComponent(id)}${qs({ owner })}`),
  photos: (p: { under?: string; tag?: string; owner?: string; cursor?: string | null; limit?: number }) =>
    request<PhotoPage>('GET', `/v1/photos${qs(p)}`),
  photo: (id: string | number) =>
    request<PhotoDetail>('GET', `/v1/photos/${encodeURIComponent(id)}`).then((p) => ({
      ...p,
      labels: p.labels ?? [],
      path: p.path ?? [],
      categories: p.categories ?? [],
      similar: p.similar ?? [],
      feedback: p.feedback ?? [],
    })),
  feedback: (id: string | number, body: { correct: boolean; wnid?: string }) =>
    request<{ feedback: FeedbackEntry & { id: string } }>('POST', `/v1/photos/${encodeURIComponent(id)}/feedback`, body),
  search: (q: string) => request<SearchResult>('GET', `/v1/search${qs({ q })}`),
  owners: () => request<{ owners: Owner[] }>('GET', '/v1/owners'),
  profile: (name: string) => request<Profile>('GET', `/v1/owners/${encodeURIComponent(name)}/profile`),
  compare: (a: string, b: string) => request<Comparison>('GET', `/v1/compare${qs({ a, b })}`),
  people: () => request<{ people: PersonCluster[] }>('GET', '/v1/people'),
  personOfFaces: (id: string | number) =>
    request<{ person: PersonCluster; photos: PhotoSummary[] }>('GET', `/v1/people/${encodeURIComponent(id)}`),
  namePerson: (id: number, name: string | null) => request<PersonCluster>('PATCH', `/v1/people/${id}`, { name }),
  teachConcept: (owner: string, name: string, positives: Array<string | number>) =>
    request<CustomConcept>('PUT', `/v1/owners/${encodeURIComponent(owner)}/concepts/${encodeURIComponent(name)}`, { positives: positives.map(Number) }),
  conceptPhotos: (owner: string, name: string) =>
    request<{ photos: Array<PhotoSummary & { score?: number; tagged?: boolean }> }>('GET', `/v1/owners/${encodeURIComponent(owner)}/concepts/${encodeURIComponent(name)}/photos${qs({ limit: 48 })}`),
  conceptFeedback: (owner: string, name: string, photo: string | number, correct: boolean) =>
    request<CustomConcept>('POST', `/v1/owners/${encodeURIComponent(owner)}/concepts/${encodeURIComponent(name)}/feedback`, { photo: Number(photo), correct }),
  photoFaces: (id: string | number) => request<{ faces: Face[] }>('GET', `/v1/photos/${encodeURIComponent(id)}/faces`),
  rejectFace: (id: number) => request<{ ok: boolean }>('POST', `/v1/faces/${id}/reject`),
};

/** An image the API serves only to its owner, fetched with the session cookie; an object URL. */
export async function authorizedImage(url: string): Promise<string> {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw errorFrom(res.status, await res.text());
  return URL.createObjectURL(await res.blob());
}

/** Sends one file with upload progress (XMLHttpRequest, since fetch has no upload progress). */
export function uploadFile<T>(
  url: string,
  file: File,
  opts: { multipart: boolean; fields?: Record<string, string>; onProgress: (fraction: number) => void },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(CSRF_HEADERS)) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) opts.onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as T);
        } catch {
          reject(new ApiError(xhr.status, 'bad_response', 'The server sent an unreadable answer.'));
        }
      } else {
        reject(errorFrom(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'The upload failed: could not reach the server.'));
    if (opts.multipart) {
      const form = new FormData();
      for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
      form.append('file', file, file.name);
      xhr.send(form);
    } else {
      xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
      xhr.send(file);
    }
  });
}

export type { Classification, UploadResult };
