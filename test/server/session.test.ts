// Browser sessions: a token or a one-time sign-in code becomes an HttpOnly session cookie that image requests
// carry; sign-out revokes it; cookie requests that change state must be same-origin (CSRF); Bearer keeps working.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createSession, createSignInCode, findSession, signInUrl } from '../../src/library/browser-sessions.js';
import { findOwnerId } from '../../src/library/store.js';
import { findToken, revokeToken } from '../../src/library/tokens.js';
import { CSRF_HEADER, SESSION_COOKIE, setSessionCookie } from '../../src/server/auth.js';
import { bearer, createFixture, type Fixture } from './fixture.js';

let f: Fixture;
const ORIGIN = 'http://localhost:80'; // light-my-request's default Host is localhost:80
const appHeaders = { [CSRF_HEADER]: '1', origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

async function call(opts: InjectOptions): Promise<LightMyRequestResponse> {
  return f.app.inject(opts);
}

/** Signs a browser in with a token or code and returns its cookie header value. */
async function signIn(body: { token?: string; code?: string }): Promise<string> {
  const res = await call({ method: 'POST', url: '/v1/session', payload: body, headers: appHeaders });
  assert.equal(res.statusCode, 200, res.body);
  const setCookie = String(res.headers['set-cookie']);
  const m = new RegExp(`^${SESSION_COOKIE}=([^;]+)`).exec(setCookie);
  assert.ok(m, setCookie);
  return `${SESSION_COOKIE}=${m[1]}`;
}

const cookie = (c: string) => ({ cookie: c });

before(async () => {
  f = await createFixture({}, { perGroup: 2 });
});
after(async () => {
  await f?.close();
});

describe('browser sessions', () => {
  test('a token is exchanged for an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP)', async () => {
    const res = await call({ method: 'POST', url: '/v1/session', payload: { token: f.tokens.alice }, headers: appHeaders });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { owner: string; admin: boolean; expires_at: string };
    assert.equal(body.owner, 'alice');
    assert.equal(body.admin, false);
    assert.ok(Date.parse(body.expires_at) > Date.now() + 24 * 3600 * 1000);
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=pgs_[\\w-]{43};`));
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.match(setCookie, /; Max-Age=\d{6,}/);
    assert.doesNotMatch(setCookie, /Secure/);
    assert.ok(!res.body.includes('pgs_'), 'the session secret is only in the cookie');
  });

  test('the cookie is Secure when the request came over HTTPS', () => {
    let header = '';
    const reply = { header: (_k: string, v: string) => ((header = v), reply) };
    setSessionCookie({ protocol: 'https' } as never, reply as never, 'pgs_x', new Date(Date.now() + 60_000).toISOString());
    assert.match(header, /; Secure/);
    assert.match(header, /; HttpOnly/);
  });

  test("the owner's images load with the cookie; another owner's session and anonymous get 404", async () => {
    const alice = await signIn({ token: f.tokens.alice });
    const bob = await signIn({ token: f.tokens.bob });
    const id = f.photos.alicePrivate[0]!;
    for (const path of [`/v1/photos/${id}/thumbnail`, `/v1/photos/${id}/thumbnail?size=1024`, `/v1/photos/${id}/original`, `/v1/photos/${id}`]) {
      const mine = await call({ url: path, headers: cookie(alice) });
      assert.equal(mine.statusCode, 200, `${path}: ${mine.body.slice(0, 200)}`);
      if (path.includes('thumbnail')) {
        assert.equal(mine.headers['content-type'], 'image/jpeg');
        assert.equal(mine.headers['cache-control'], 'private, no-cache', 'private images are revalidated, never reused across sign-ins');
        assert.match(String(mine.headers.vary), /Cookie/);
      }
      assert.equal((await call({ url: path, headers: cookie(bob) })).statusCode, 404, `${path} as bob`);
      assert.equal((await call({ url: path })).statusCode, 404, `${path} anonymous`);
    }
    const me = await call({ url: '/v1/me', headers: cookie(alice) });
    assert.deepEqual(me.json(), { owner: 'alice', admin: false });
    // Revalidation while signed in: 304; signed in as someone else: still 404.
    const etag = String((await call({ url: `/v1/photos/${id}/thumbnail`, headers: cookie(alice) })).headers.etag);
    assert.equal((await call({ url: `/v1/photos/${id}/thumbnail`, headers: { ...cookie(alice), 'if-none-match': etag } })).statusCode, 304);
    assert.equal((await call({ url: `/v1/photos/${id}/thumbnail`, headers: { ...cookie(bob), 'if-none-match': etag } })).statusCode, 404);
  });

  test('Bearer tokens keep working and win over a cookie', async () => {
    const bob = await signIn({ token: f.tokens.bob });
    const id = f.photos.alicePrivate[0]!;
    const res = await call({ url: `/v1/photos/${id}/thumbnail`, headers: { ...cookie(bob), ...bearer(f.tokens.alice) } });
    assert.equal(res.statusCode, 200);
    const patch = await call({ method: 'PATCH', url: `/v1/photos/${id}`, payload: { visibility: 'private' }, headers: bearer(f.tokens.alice) });
    assert.equal(patch.statusCode, 200, 'API clients need no CSRF header');
  });

  test('CSRF: cookie requests that change state need the app header and the same origin', async () => {
    const alice = await signIn({ token: f.tokens.alice });
    const id = f.photos.alicePrivate[1]!;
    const patch = (headers: Record<string, string>) =>
      call({ method: 'PATCH', url: `/v1/photos/${id}`, payload: { visibility: 'private' }, headers: { ...cookie(alice), ...headers } });
    const expect403 = async (res: LightMyRequestResponse, why: string) => {
      assert.equal(res.statusCode, 403, `${why}: ${res.body}`);
      assert.equal(res.json().error.code, 'csrf_rejected');
    };
    await expect403(await patch({}), 'no header');
    await expect403(await patch({ [CSRF_HEADER]: '1', origin: 'https://evil.example' }), 'foreign origin');
    await expect403(await patch({ [CSRF_HEADER]: '1', origin: 'null' }), 'opaque origin');
    await expect403(await patch({ [CSRF_HEADER]: '1', 'sec-fetch-site': 'cross-site' }), 'cross-site fetch');
    await expect403(await patch({ [CSRF_HEADER]: '1', 'sec-fetch-site': 'same-site' }), 'same-site, other origin');
    assert.equal((await patch(appHeaders)).statusCode, 200);
    // Feedback and sign-out are state changes too.
    const fb = await call({ method: 'POST', url: `/v1/photos/${id}/feedback`, payload: { correct: true }, headers: cookie(alice) });
    assert.equal(fb.statusCode, 403);
    const out = await call({ method: 'DELETE', url: '/v1/session', headers: cookie(alice) });
    assert.equal(out.statusCode, 403);
    // Reading with the cookie needs nothing more (an <img> cannot send headers).
    assert.equal((await call({ url: `/v1/photos/${id}/thumbnail`, headers: cookie(alice) })).statusCode, 200);
    // Signing in is guarded too (no login CSRF).
    const login = await call({ method: 'POST', url: '/v1/session', payload: { token: f.tokens.bob }, headers: { origin: ORIGIN } });
    assert.equal(login.statusCode, 403);
    const login2 = await call({ method: 'POST', url: '/v1/session', payload: { token: f.tokens.bob }, headers: { [CSRF_HEADER]: '1', origin: 'https://evil.example' } });
    assert.equal(login2.statusCode, 403);
  });

  test('sign-out revokes the session on the server and clears the cookie', async () => {
    const alice = await signIn({ token: f.tokens.alice });
    const id = f.photos.alicePrivate[0]!;
    const out = await call({ method: 'DELETE', url: '/v1/session', headers: { ...cookie(alice), ...appHeaders } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=; Max-Age=0;.*HttpOnly`));
    // The old cookie, replayed, is worth nothing.
    assert.equal(await findSession(f.lib.db, alice.split('=')[1]!), null);
    assert.deepEqual((await call({ url: '/v1/me', headers: cookie(alice) })).json(), { owner: null, admin: false });
    assert.equal((await call({ url: `/v1/photos/${id}/thumbnail`, headers: cookie(alice) })).statusCode, 404);
  });

  test('bad sign-ins: unknown token, both or neither field, not JSON', async () => {
    const bad = await call({ method: 'POST', url: '/v1/session', payload: { token: 'pgt_nope' }, headers: appHeaders });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().error.code, 'invalid_token');
    assert.equal(bad.headers['set-cookie'], undefined);
    for (const payload of [{}, { token: f.tokens.alice, code: 'pgc_x' }]) {
      const res = await call({ method: 'POST', url: '/v1/session', payload, headers: appHeaders });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
    }
    const form = await call({ method: 'POST', url: '/v1/session', payload: 'token=x', headers: { ...appHeaders, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.statusCode, 415);
  });

  test('a one-time sign-in code signs the owner in once; used or expired codes are refused', async () => {
    const aliceId = (await findOwnerId(f.lib.db, 'alice'))!;
    const { code, expiresAt } = await createSignInCode(f.lib.db, aliceId);
    assert.ok(Date.parse(expiresAt) - Date.now() <= 15 * 60 * 1000 + 1000);
    assert.equal(signInUrl('http://127.0.0.1:8080/', code), `http://127.0.0.1:8080/signin#code=${code}`);
    const alice = await signIn({ code });
    assert.deepEqual((await call({ url: '/v1/me', headers: cookie(alice) })).json(), { owner: 'alice', admin: false });
    const again = await call({ method: 'POST', url: '/v1/session', payload: { code }, headers: appHeaders });
    assert.equal(again.statusCode, 401);
    assert.equal(again.json().error.code, 'invalid_code');
    const expired = await createSignInCode(f.lib.db, aliceId, -1);
    const late = await call({ method: 'POST', url: '/v1/session', payload: { code: expired.code }, headers: { ...appHeaders, ...cookie(alice) } });
    assert.equal(late.statusCode, 401);
    assert.equal((await call({ url: '/v1/me', headers: cookie(alice) })).json().owner, 'alice', 'a stale link leaves the browser signed in');
    // Signing in again replaces the browser's previous session.
    const fresh = await createSignInCode(f.lib.db, aliceId);
    const replaced = await call({ method: 'POST', url: '/v1/session', payload: { code: fresh.code }, headers: { ...appHeaders, ...cookie(alice) } });
    assert.equal(replaced.statusCode, 200);
    assert.equal(await findSession(f.lib.db, alice.split('=')[1]!), null, 'the old session is revoked');
    // Two browsers racing for one code: exactly one wins.
    const raced = await createSignInCode(f.lib.db, aliceId);
    const both = await Promise.all([0, 1].map(() => call({ method: 'POST', url: '/v1/session', payload: { code: raced.code }, headers: appHeaders })));
    assert.deepEqual(both.map((r) => r.statusCode).sort(), [200, 401]);
  });

  test('expired sessions and sessions of a revoked token are anonymous', async () => {
    const aliceId = (await findOwnerId(f.lib.db, 'alice'))!;
    const stale = await createSession(f.lib.db, { ownerId: aliceId }, -1000);
    assert.deepEqual((await call({ url: '/v1/me', headers: cookie(`${SESSION_COOKIE}=${stale.secret}`) })).json(), { owner: null, admin: false });
    const bob = await signIn({ token: f.tokens.bob });
    assert.equal((await call({ url: '/v1/me', headers: cookie(bob) })).json().owner, 'bob');
    const identity = await findToken(f.lib.db, f.tokens.bob);
    assert.ok(identity && (await revokeToken(f.lib.db, identity.tokenId)));
    assert.deepEqual((await call({ url: '/v1/me', headers: cookie(bob) })).json(), { owner: null, admin: false });
    // A garbled cookie header is anonymous, not an error.
    assert.equal((await call({ url: '/v1/me', headers: cookie('%%%; =;;') })).statusCode, 200);
  });
});
