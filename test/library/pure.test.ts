// Property tests of the library's pure parts: comparing profiles, paging cursors, embeddings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareCategoryShares, compareProfiles, type Profile } from '../../src/library/compare.js';
import { decodeCursor, encodeCursor } from '../../src/library/cursor.js';
import { bytesToEmbedding, compactEmbedding, cosine, embeddingToBytes, isCompactEmbedding } from '../../src/library/embedding.js';
import { LibraryError } from '../../src/library/errors.js';
import { LEAVES, miniTaxonomy as tax, syntheticAnalysis } from './support.js';

// A random owner profile: mean lifted node scores over a few random photos.
const profileArb = fc
  .array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: LEAVES.length, maxLength: LEAVES.length }), { minLength: 1, maxLength: 6 })
  .map((photos): Profile => {
    const sum = new Map<string, number>();
    for (const raw of photos) {
      const total = raw.reduce((a, b) => a + b, 0) || 1;
      const probs = Object.fromEntries(LEAVES.map((l, i) => [l, raw[i] / total]).filter(([, p]) => (p as number) > 0));
      if (Object.keys(probs).length === 0) continue;
      for (const n of syntheticAnalysis(probs).nodeScores) sum.set(n.wnid, (sum.get(n.wnid) ?? 0) + n.score / photos.length);
    }
    return sum;
  });

describe('compareProfiles', () => {
  it('is antisymmetric in its asymmetries and symmetric in what is shared', () => {
    fc.assert(
      fc.property(profileArb, profileArb, (a, b) => {
        const ab = compareProfiles(a, b, tax);
        const ba = compareProfiles(b, a, tax);
        assert.deepEqual(ab.moreA, ba.moreB);
        assert.deepEqual(ab.moreB, ba.moreA);
        assert.deepEqual(ab.shared, ba.shared);
        assert.ok(Math.abs(ab.similarity - ba.similarity) < 1e-12);
        assert.ok(ab.similarity >= 0 && ab.similarity <= 1 + 1e-12);
        for (const s of ab.shared) assert.ok(s.value >= 0 && s.value <= 1 + 1e-9);
        for (const s of [...ab.moreA, ...ab.moreB]) assert.ok(s.value > 0.01 && s.wnid !== tax.root);
      }),
      { numRuns: 200 },
    );
  });

  it('finds no asymmetry between an owner and themself, and similarity 1', () => {
    fc.assert(
      fc.property(profileArb, (a) => {
        const c = compareProfiles(a, a, tax);
        assert.deepEqual(c.moreA, []);
        assert.deepEqual(c.moreB, []);
        if (c.shared.length > 0) assert.ok(Math.abs(c.similarity - 1) < 1e-9);
      }),
      { numRuns: 100 },
    );
  });
});

describe('paging cursors', () => {
  it('round-trip, and anything else is a bad_cursor error (never another failure)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(), (score, id) => {
        const c = encodeCursor({ under: 'n02084071', score, id });
        assert.deepEqual(decodeCursor(c, 'n02084071'), { under: 'n02084071', score, id });
        assert.throws(() => decodeCursor(c, 'n00015388'), (e: unknown) => e instanceof LibraryError && e.code === 'bad_cursor');
        assert.throws(() => decodeCursor(c, null), (e: unknown) => e instanceof LibraryError && e.code === 'bad_cursor');
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (junk) => {
        try {
          decodeCursor(junk, 'n02084071');
        } catch (e) {
          assert.ok(e instanceof LibraryError && e.code === 'bad_cursor', String(e));
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url');
        try {
          decodeCursor(text, 'n02084071');
        } catch (e) {
          assert.ok(e instanceof LibraryError && e.code === 'bad_cursor', String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('embeddings', () => {
  it('survive the byte round trip and cosine is bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 64 }), (xs) => {
        const e = Float32Array.from(xs);
        const back = bytesToEmbedding(embeddingToBytes(e));
        assert.deepEqual(Array.from(back), Array.from(e));
        const c = cosine(e, back);
        assert.ok(c === 0 || Math.abs(c - 1) < 1e-6);
      }),
    );
  });
});

describe('compact (int8) embeddings', () => {
  const vec = (min: number, max: number, maxLength = 300) => fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min, max }), { minLength: 1, maxLength })
      .map((xs) => Float32Array.from(xs))
      // (a vector whose largest component is below ~1e-30 has no normal float32 scale and is stored as zeros)
      .filter((e) => e.some((x) => Math.abs(x) > 1e-30));
  it('are told apart from float32 bytes, keep the length, and stay within half a step of every component', () => {
    fc.assert(
      fc.property(vec(-1e3, 1e3), (e) => {
        const bytes = compactEmbedding(e);
        assert.ok(isCompactEmbedding(bytes) && !isCompactEmbedding(embeddingToBytes(e)));
        assert.ok(bytes.byteLength <= e.length + 8);
        const back = bytesToEmbedding(bytes);
        assert.equal(back.length, e.length);
        const step = Math.max(...Array.from(e, Math.abs)) / 127;
        for (let i = 0; i < e.length; i++) assert.ok(Math.abs(back[i]! - e[i]!) <= step * 0.5001 + 1e-30, `${back[i]} vs ${e[i]}`);
        // packing what was unpacked gives the same bytes (copying an analysis never drifts)
        assert.deepEqual(compactEmbedding(back), bytes);
      }),
      { numRuns: 300 },
    );
  });
  it('keep the cosine between non-negative unit-scale embeddings (like the CNN pool features) within 0.01', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 })), { minLength: 1, maxLength: 1280 }), (pairs) => {
        const a = Float32Array.from(pairs, ([x]) => x / 1e6);
        const b = Float32Array.from(pairs, ([, y]) => y / 1e6);
        const exact = cosine(a, b);
        const approx = cosine(bytesToEmbedding(compactEmbedding(a)), bytesToEmbedding(compactEmbedding(b)));
        assert.ok(Math.abs(exact - approx) <= 0.01, `${exact} vs ${approx}`);
      }),
      { numRuns: 200 },
    );
  });
});

describe('comparing owners in everyday categories', () => {
  const cat = (id: string, mean: number) => ({ id, name: id[0]!.toUpperCase() + id.slice(1), wnid: `n0000000${id.length}`, mean });
  const parents: Record<string, string> = { dog: 'mammal', cat: 'mammal', mammal: 'animal' };
  const parentOf = (id: string) => parents[id];

  it('is symmetric, keeps only real gaps, and ranks the biggest gap first', () => {
    const ids = ['animal', 'mammal', 'dog', 'cat', 'food', 'car', 'boat'];
    const sharesArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: ids.length, maxLength: ids.length });
    fc.assert(
      fc.property(sharesArb, sharesArb, (xa, xb) => {
        const a = ids.map((id, i) => cat(id, xa[i]!));
        const b = ids.map((id, i) => cat(id, xb[i]!));
        const ab = compareCategoryShares(a, b, { parentOf });
        const ba = compareCategoryShares(b, a, { parentOf });
        assert.deepEqual(ab.moreA.map((c) => c.id), ba.moreB.map((c) => c.id));
        assert.deepEqual(ab.shared.map((c) => c.id), ba.shared.map((c) => c.id));
        for (const c of ab.moreA) assert.ok(c.a - c.b >= 0.03);
        for (const c of ab.shared) assert.ok(Math.min(c.a, c.b) >= 0.05);
        const gaps = ab.moreA.map((c) => c.a - c.b);
        assert.deepEqual(gaps, [...gaps].sort((x, y) => y - x));
      }),
    );
  });

  it('leaves out a broad category whose gap a narrower one explains', () => {
    const a = [cat('animal', 0.6), cat('mammal', 0.55), cat('dog', 0.5), cat('food', 0.3)];
    const b = [cat('animal', 0.1), cat('mammal', 0.1), cat('dog', 0.05), cat('food', 0.3)];
    const r = compareCategoryShares(a, b, { parentOf });
    assert.deepEqual(r.moreA.map((c) => c.id), ['dog']);
    assert.deepEqual(r.moreB, []);
    assert.deepEqual(r.shared.map((c) => c.id), ['food', 'animal', 'mammal', 'dog']);
    // Without the hierarchy every gap is listed.
    assert.deepEqual(compareCategoryShares(a, b).moreA.map((c) => c.id), ['animal', 'mammal', 'dog']);
  });
});
