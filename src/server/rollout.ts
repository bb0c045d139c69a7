// Rolling a new model onto model servers one at a time: drain (readyz 503, the balancer sends requests to the
// others), wait for the requests in flight, load the new model, wait until ready, then the next server. If a
// server cannot load the new model it keeps serving the old one, the rollout stops, and servers already
// updated are rolled back the same way, so the cluster stays on one model.

export interface ServerStatus {
  ready: boolean;
  state: string;
  model: { id: string; sha256: string } | null;
  inflight: number;
  error?: string;
}

export interface RolloutStep {
  server: string;
  from: string | null;
  to: string;
  ok: boolean;
  seconds: number;
  error?: string;
}

export interface RolloutResult {
  model: string;
  ok: boolean;
  steps: RolloutStep[];
  /** Servers put back on their old model after an abort. */
  rolledBack: RolloutStep[];
  error?: string;
}

export interface RolloutOptions {
  servers: string[];
  model: string;
  adminToken?: string;
  /** Longest wait for requests in flight to finish, and for the new model to load (default 300 s each). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

async function call(url: string, init: RequestInit & { token?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: ServerStatus & { error?: unknown } }> {
  const headers: Record<string, string> = { ...(init.body ? { 'content-type': 'application/json' } : {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  return { status: res.status, body: (await res.json()) as ServerStatus };
}

export async function serverStatus(server: string): Promise<ServerStatus> {
  return (await call(`${server}/readyz`)).body;
}

async function waitFor(server: string, done: (s: ServerStatus) => boolean, timeoutMs: number, what: string): Promise<ServerStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let s: ServerStatus | null = null;
    try {
      s = await serverStatus(server);
      if (done(s)) return s;
    } catch {
      // restarting: not answering yet
    }
    if (Date.now() > until) throw new Error(`${server}: timed out waiting for ${what}${s ? ` (state ${s.state})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Moves one server to `model`: drain, wait for in-flight requests, load, wait until ready. */
export async function updateServer(server: string, model: string, opts: { adminToken?: string; timeoutMs?: number } = {}): Promise<RolloutStep> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const before = await serverStatus(server);
  const step: RolloutStep = { server, from: before.model?.id ?? null, to: model, ok: false, seconds: 0 };
  try {
    const drained = await call(`${server}/admin/drain`, { method: 'POST', token: opts.adminToken });
    if (drained.status !== 200) throw new Error(`${server}: drain refused (${drained.status})`);
    await waitFor(server, (s) => s.inflight === 0, timeoutMs, 'requests in flight');
    const changed = await call(`${server}/admin/model`, { method: 'POST', token: opts.adminToken, body: JSON.stringify({ model }), timeoutMs });
    if (changed.status !== 200) {
      const e = changed.body.error as { message?: string } | string | undefined;
      throw new Error(typeof e === 'string' ? e : (e?.message ?? `model change answered ${changed.status}`));
    }
    await waitFor(server, (s) => s.ready && s.model?.id === model, timeoutMs, `ready on ${model}`);
    step.ok = true;
  } catch (err) {
    step.error = (err as Error).message;
    // The server keeps its old model; make sure it serves again.
    await call(`${server}/admin/resume`, { method: 'POST', token: opts.adminToken }).catch(() => undefined);
  }
  step.seconds = (performance.now() - t0) / 1000;
  return step;
}

/** Rolls `model` onto every server in turn; aborts on the first failure and rolls the updated ones back. */
export async function rollout(opts: RolloutOptions): Promise<RolloutResult> {
  const log = opts.log ?? (() => undefined);
  const result: RolloutResult = { model: opts.model, ok: true, steps: [], rolledBack: [] };
  for (const server of opts.servers) {
    log(`${server}: draining, then loading ${opts.model}`);
    const step = await updateServer(server, opts.model, opts);
    result.steps.push(step);
    if (step.ok) {
      log(`${server}: ready on ${opts.model} (${step.seconds.toFixed(1)} s)`);
      continue;
    }
    result.ok = false;
    result.error = step.error;
    log(`${server}: FAILED (${step.error}); it keeps ${step.from}; aborting`);
    for (const done of result.steps.filter((s) => s.ok && s.from && s.from !== opts.model)) {
      log(`${done.server}: rolling back to ${done.from}`);
      result.rolledBack.push(await updateServer(done.server, done.from!, opts));
    }
    break;
  }
  return result;
}
