// What people see, in their words: search maps everyday words (beach, people, street) to the model's concepts,
// offers "did you mean" for ambiguous words and says when the model has no concept; compare speaks everyday
// categories with each side's example photos, and says when an owner has nothing visible.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearer, createFixture, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await createFixture({}, { perGroup: 3 });
});
after(async () => {
  await f?.close();
});

interface Search {
  synsets: Array<{ wnid: string; name: string }>;
  senses: Array<{ wnid: string; name: string; hint?: string }>;
  unknown: string[];
  tags: Array<{ id: string }>;
  photos: Array<{ id: number }>;
}
const search = async (q: string): Promise<Search> => {
  const res = await f.app.inject({ url: `/v1/search?q=${encodeURIComponent(q)}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Search;
};

describe('everyday words', () => {
  test('search: beach is the seashore, people are persons, street things are street things', async () => {
    const beach = await search('beach');
    assert.deepEqual(beach.synsets.map((s) => s.name), ['seashore', 'sandbar']);
    assert.ok(!beach.synsets.some((s) => s.name === 'geological formation'));
    assert.deepEqual((await search('people')).synsets.map((s) => s.wnid), ['n00007846']);
    assert.deepEqual((await search('Streets')).synsets.map((s) => s.name), ['street sign', 'traffic light', 'streetcar', 'cab']);
    // WordNet still answers the rest: a puppy is a dog.
    const puppy = await search('puppy');
    assert.deepEqual(puppy.synsets.map((s) => s.wnid), ['n02084071']);
    assert.deepEqual(puppy.senses, []);
    assert.ok(puppy.photos.length > 0);
  });

  test('search: "did you mean" for a word with several senses; no guess for words the model cannot see', async () => {
    const crane = await search('crane');
    assert.deepEqual(
      crane.senses.map((s) => `${s.name} (${s.hint})`).sort(),
      ['crane (lifting device)', 'crane (wading bird)'],
    );
    // ImageNet has no sunset, but the everyday head does: the word finds the photos tagged sunset, nothing else
    const sunset = await search('sunset');
    assert.deepEqual(sunset.unknown, []);
    assert.deepEqual(sunset.tags.map((t) => t.id), ['sunset']);
    assert.deepEqual(sunset.synsets, [], 'not "abstraction"');
    const tagged = (await f.app.inject({ url: '/v1/photos?tag=sunset&limit=50' })).json() as { photos: Array<{ id: number }> };
    assert.deepEqual(sunset.photos.map((p) => p.id), tagged.photos.map((p) => p.id));
    // an everyday word that is neither a concept of the model nor a tag's name is still said plainly
    const sunrise = await search('sunrise');
    assert.deepEqual(sunrise.unknown, ['sunrise']);
    assert.deepEqual(sunrise.photos, []);
  });

  test("compare: everyday categories first, with each side's example photos", async () => {
    const res = await f.app.inject({ url: '/v1/compare?a=alice&b=bob', headers: bearer(f.tokens.alice) });
    assert.equal(res.statusCode, 200, res.body);
    type Row = { id: string; name: string; a: number; b: number; a_examples: Array<{ owner: string; thumbnail: string }>; b_examples: Array<{ owner: string }> };
    const c = res.json() as { categories: { shared: Row[]; a_more: Row[]; b_more: Row[] }; a_more: Array<{ a_examples: unknown[] }> };
    const dog = c.categories.a_more.find((r) => r.id === 'dog');
    assert.ok(dog, JSON.stringify(c.categories.a_more.map((r) => r.name)));
    assert.equal(dog.name, 'Dog');
    assert.ok(dog.a > dog.b + 0.3);
    assert.ok(dog.a_examples.length >= 1 && dog.a_examples.every((p) => p.owner === 'alice' && /thumbnail\?size=256$/.test(p.thumbnail)));
    assert.ok(!c.categories.b_more.some((r) => r.id === 'dog' || r.id === 'animal'));
    for (const r of c.categories.b_more) assert.ok(r.b_examples.every((p) => p.owner === 'bob'));
    assert.ok(c.a_more.some((r) => r.a_examples.length > 0), 'WordNet rows carry photos too');
    // Animal is left out where Dog explains the gap.
    assert.ok(!c.categories.a_more.some((r) => r.id === 'animal' || r.id === 'mammal'), JSON.stringify(c.categories.a_more.map((r) => r.id)));
  });

  test('compare with an owner who has nothing visible to you: 404 unknown_owner (no existence oracle)', async () => {
    const res = await f.app.inject({ url: '/v1/compare?a=alice&b=carol' });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().error.code, 'unknown_owner');
  });
});
