// Concepts over HTTP with the real model: POST /v1/classify returns everyday `tags`; custom concepts are taught
// from stored photos and private to their owner (another owner or anonymous: 404).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { bearer, calibPhotos, createFixture, type Fixture } from '../server/fixture.js';

describe('concepts API', () => {
  let f: Fixture;
  before(async () => {
    f = await createFixture({}, { perGroup: 3 });
  });
  after(async () => f.close());

  it('POST /v1/classify returns tags (a dog photo is tagged dog)', async () => {
    const dog = calibPhotos().find((p) => p.index === 200)!; // Tibetan terrier
    const res = await f.app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg', ...bearer(f.tokens.alice) }, payload: readFileSync(dog.file) });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { tags: Array<{ id: string; name: string; score: number }> };
    assert.ok(Array.isArray(body.tags));
    assert.equal(body.tags[0]?.id, 'dog', JSON.stringify(body.tags));
    assert.equal((body as { subject?: { id: string } }).subject?.id, 'animals');
    for (let i = 1; i < body.tags.length; i++) assert.ok(body.tags[i - 1].score >= body.tags[i].score);
  });

  it('teaches from stored photos; another owner or anonymous gets 404', async () => {
    const dogs = [...f.photos.alicePublic.slice(0, 3), ...f.photos.alicePrivate.slice(0, 2)];
    const put = await f.app.inject({ method: 'PUT', url: '/v1/owners/alice/concepts/my%20dogs', headers: bearer(f.tokens.alice), payload: { positives: dogs } });
    assert.equal(put.statusCode, 200, put.body);
    const c = put.json() as { id: string; positives: number; report: { diagnosis: string[]; curve: { step: number[] } } };
    assert.equal(c.id, 'alice/my dogs');
    assert.equal(c.positives, 5);
    assert.ok(c.report.curve.step.length > 0 && c.report.diagnosis.length > 0);

    const mine = await f.app.inject({ url: '/v1/owners/alice/concepts/my%20dogs', headers: bearer(f.tokens.alice) });
    assert.equal(mine.statusCode, 200);
    assert.equal((await f.app.inject({ url: '/v1/owners/alice/concepts/my%20dogs', headers: bearer(f.tokens.admin) })).statusCode, 200);
    for (const headers of [bearer(f.tokens.bob), {}]) {
      assert.equal((await f.app.inject({ url: '/v1/owners/alice/concepts/my%20dogs', headers })).statusCode, 404);
      assert.equal((await f.app.inject({ url: '/v1/owners/alice/concepts', headers })).statusCode, 404);
      assert.equal((await f.app.inject({ method: 'DELETE', url: '/v1/owners/alice/concepts/my%20dogs', headers })).statusCode, 404);
    }
    // bob cannot teach from alice's photos either
    const stolen = await f.app.inject({ method: 'PUT', url: '/v1/owners/bob/concepts/dogs', headers: bearer(f.tokens.bob), payload: { positives: dogs } });
    assert.equal(stolen.statusCode, 400, stolen.body);
    assert.equal((await f.app.inject({ url: '/v1/owners/bob/concepts', headers: bearer(f.tokens.bob) })).json().concepts.length, 0);
  });

  it('ranked photos and "was this right?" feedback retrain the concept; other owners get 404', async () => {
    const url = '/v1/owners/alice/concepts/my%20dogs';
    const ranked = await f.app.inject({ url: `${url}/photos?limit=5`, headers: bearer(f.tokens.alice) });
    assert.equal(ranked.statusCode, 200, ranked.body);
    const photos = (ranked.json() as { photos: Array<{ id: number; score: number; tagged: boolean; thumbnail: string }> }).photos;
    assert.equal(photos.length, 5);
    for (let i = 1; i < photos.length; i++) assert.ok(photos[i - 1].score >= photos[i].score);
    const before = (await f.app.inject({ url, headers: bearer(f.tokens.alice) })).json() as { positives: number; negatives: number };
    const last = photos[photos.length - 1];
    const answer = await f.app.inject({ method: 'POST', url: `${url}/feedback`, headers: bearer(f.tokens.alice), payload: { photo: last.id, correct: false } });
    assert.equal(answer.statusCode, 200, answer.body);
    const after = answer.json() as { positives: number; negatives: number; validationF1: { before: number; after: number }; feedback: { positives: number; negatives: number } };
    assert.deepEqual(after.feedback, { positives: 0, negatives: 1 });
    assert.equal(after.positives, before.positives);
    assert.equal(typeof after.validationF1.before, 'number');
    for (const headers of [bearer(f.tokens.bob), {}]) {
      assert.equal((await f.app.inject({ url: `${url}/photos`, headers })).statusCode, 404);
      assert.equal((await f.app.inject({ method: 'POST', url: `${url}/feedback`, headers, payload: { photo: last.id, correct: true } })).statusCode, 404);
    }
    // A photo that is not alice's: 404, nothing stored.
    const foreign = await f.app.inject({ method: 'POST', url: `${url}/feedback`, headers: bearer(f.tokens.alice), payload: { photo: 999999, correct: true } });
    assert.equal(foreign.statusCode, 404, foreign.body);
    const unknown = await f.app.inject({ method: 'POST', url: '/v1/owners/alice/concepts/nope/feedback', headers: bearer(f.tokens.alice), payload: { photo: last.id, correct: true } });
    assert.equal(unknown.statusCode, 404, unknown.body);
  });

  it('tags in the one hierarchy: tree nodes under their synsets, tag pages, photos by tag, search, profile; custom tags only for their owner', async () => {
    type Node = { wnid: string; name: string; count: number; tag?: string; children: Node[] };
    const find = (n: Node, tag: string, parent: Node | null = null): { node: Node; parent: Node | null } | null =>
      n.tag === tag ? { node: n, parent } : n.children.reduce<{ node: Node; parent: Node | null } | null>((hit, c) => hit ?? find(c, tag, n), null);
    const tree = async (headers: Record<string, string>) => (await f.app.inject({ url: '/v1/categories/tree', headers })).json() as Node;
    const alice = await tree(bearer(f.tokens.alice));
    const dog = find(alice, 'dog');
    assert.ok(dog, 'the dog tag is in the tree');
    assert.equal(dog.node.name, 'dog');
    assert.equal(dog.node.wnid, 'tag:dog');
    assert.equal(dog.parent?.wnid, 'n02084071', 'under the dog synset');
    const mine = find(alice, 'alice/my dogs');
    assert.equal(mine?.node.name, 'my dogs');
    for (const headers of [bearer(f.tokens.bob), {}, bearer(f.tokens.admin)]) assert.equal(find(await tree(headers), 'alice/my dogs'), null, JSON.stringify(headers));

    // the tag's page and its photos, best first, as many as its count
    const page = await f.app.inject({ url: '/v1/tags/dog', headers: bearer(f.tokens.alice) });
    assert.equal(page.statusCode, 200, page.body);
    const info = page.json() as { id: string; name: string; count: number; synset: { wnid: string }; path: Array<{ wnid: string }> };
    assert.equal(info.synset.wnid, 'n02084071');
    assert.equal(info.path.at(-1)?.wnid, 'n00001740');
    assert.equal(info.count, dog.node.count);
    const photos = (await f.app.inject({ url: '/v1/photos?tag=dog&limit=200', headers: bearer(f.tokens.alice) })).json() as { photos: Array<{ id: number; score: number }> };
    assert.equal(photos.photos.length, info.count);
    for (let i = 1; i < photos.photos.length; i++) assert.ok(photos.photos[i - 1].score >= photos.photos[i].score);
    const bobSees = (await f.app.inject({ url: '/v1/photos?tag=dog&limit=200', headers: bearer(f.tokens.bob) })).json() as { photos: Array<{ visibility: string; owner: string }> };
    assert.ok(bobSees.photos.every((p) => p.visibility === 'public' || p.owner === 'bob'));

    // a custom tag: its owner only (everyone else: the same 404 as a tag that does not exist)
    const custom = '/v1/tags/' + encodeURIComponent('alice/my dogs');
    assert.equal((await f.app.inject({ url: custom, headers: bearer(f.tokens.alice) })).statusCode, 200);
    for (const headers of [bearer(f.tokens.bob), {}]) {
      const res = await f.app.inject({ url: custom, headers });
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error.code, 'unknown_tag');
      assert.equal((await f.app.inject({ url: '/v1/photos?tag=' + encodeURIComponent('alice/my dogs'), headers })).statusCode, 404);
    }
    assert.equal((await f.app.inject({ url: '/v1/tags/nosuch', headers: bearer(f.tokens.alice) })).statusCode, 404);

    // word search by tag name; the profile counts tags
    const search = (await f.app.inject({ url: '/v1/search?q=my%20dogs', headers: bearer(f.tokens.alice) })).json() as { tags: Array<{ id: string; count: number }>; photos: unknown[] };
    assert.deepEqual(search.tags.map((t) => t.id), ['alice/my dogs']);
    assert.equal(search.photos.length, mine!.node.count);
    const bobSearch = (await f.app.inject({ url: '/v1/search?q=my%20dogs', headers: bearer(f.tokens.bob) })).json() as { tags: unknown[] };
    assert.deepEqual(bobSearch.tags, []);
    const profile = (await f.app.inject({ url: '/v1/owners/alice/profile', headers: bearer(f.tokens.alice) })).json() as { top_tags: Array<{ id: string; count: number }> };
    assert.ok(profile.top_tags.some((t) => t.id === 'dog' && t.count > 0), JSON.stringify(profile.top_tags));
    const seenByBob = (await f.app.inject({ url: '/v1/owners/alice/profile', headers: bearer(f.tokens.bob) })).json() as { top_tags: Array<{ id: string }> };
    assert.ok(!seenByBob.top_tags.some((t) => t.id.includes('/')));
  });

  it('"was this right?" on an everyday tag is stored for retraining the everyday head', async () => {
    const { everydayFeedback } = await import('../../src/library/concepts.js');
    const photo = f.photos.alicePrivate[0];
    const url = `/v1/photos/${photo}/tags/dog/feedback`;
    const yes = await f.app.inject({ method: 'POST', url, headers: bearer(f.tokens.alice), payload: { correct: true } });
    assert.equal(yes.statusCode, 201, yes.body);
    const no = await f.app.inject({ method: 'POST', url, headers: bearer(f.tokens.alice), payload: { correct: false } });
    assert.equal(no.statusCode, 201, no.body);
    const model = f.app.pictograph.runtime.recognizer().model;
    const stored = (await everydayFeedback(f.app.pictograph.db, model)).filter((a) => a.photoId === photo);
    assert.deepEqual(stored.map((a) => [a.concept, a.correct]), [['dog', false]], 'the latest answer wins');
    assert.equal(stored[0].embedding.length, 1280);
    // An unknown tag, another owner's private photo, or nobody signed in: refused, nothing stored.
    assert.equal((await f.app.inject({ method: 'POST', url: `/v1/photos/${photo}/tags/unicorn/feedback`, headers: bearer(f.tokens.alice), payload: { correct: true } })).statusCode, 404);
    assert.equal((await f.app.inject({ method: 'POST', url, headers: bearer(f.tokens.bob), payload: { correct: true } })).statusCode, 404);
    assert.equal((await f.app.inject({ method: 'POST', url, payload: { correct: true } })).statusCode, 401);
    assert.equal((await everydayFeedback(f.app.pictograph.db, model)).length, 1);
  });

  it('unknown concept: 404; zero examples: 400; delete: 204', async () => {
    assert.equal((await f.app.inject({ url: '/v1/owners/alice/concepts/nope', headers: bearer(f.tokens.alice) })).statusCode, 404);
    assert.equal((await f.app.inject({ method: 'PUT', url: '/v1/owners/alice/concepts/x', headers: bearer(f.tokens.alice), payload: { positives: [] } })).statusCode, 400);
    assert.equal((await f.app.inject({ method: 'DELETE', url: '/v1/owners/alice/concepts/my%20dogs', headers: bearer(f.tokens.alice) })).statusCode, 204);
    assert.equal((await f.app.inject({ url: '/v1/owners/alice/concepts', headers: bearer(f.tokens.alice) })).json().concepts.length, 0);
  });
});
