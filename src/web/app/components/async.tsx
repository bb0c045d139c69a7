// Loading data for a page: a hook that runs an API call when its inputs change, and the states it shows.
import { useEffect, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';

export type Async<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({ status: 'loading' });
  useEffect(() => {
    let live = true;
    setState({ status: 'loading' });
    load().then(
      (data) => live && setState({ status: 'ok', data }),
      (err: unknown) => live && setState({ status: 'error', error: asApiError(err) }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, 'client_error', err instanceof Error ? err.message : String(err));
}

export function ErrorNote({ error }: { error: ApiError }) {
  return (
    <div class="error" role="alert">
      <strong>{error.status === 404 ? 'Not found.' : 'Something went wrong.'}</strong> {error.message}
    </div>
  );
}

export function Loading() {
  return <div class="loading" aria-busy="true">Loading…</div>;
}

/** Renders the loading/error states of `state`, or `children(data)` once loaded. */
export function Loaded<T>({ state, children }: { state: Async<T>; children: (data: T) => ComponentChildren }) {
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') return <ErrorNote error={state.error} />;
  return <>{children(state.data)}</>;
}
