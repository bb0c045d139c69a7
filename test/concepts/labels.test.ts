// Labels people can trust: no vague root is shown ("not sure" + guesses instead), and the label policy keeps a
// coffee cup's path clear of punch / alcohol / "drug of abuse".
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { shownLabel } from '../../src/concepts/label.js';
import { analyzePrediction, hedgedPath, loadTaxonomy, type Taxonomy } from '../../src/taxonomy/analysis.js';
import { tempHome } from '../support/env.js';

describe('shown labels', () => {
  const home = tempHome('pictograph-labels-');
  let t: Taxonomy;
  before(async () => {
    t = await loadTaxonomy({ env: home.env });
  });
  after(() => home.cleanup());

  const peaked = (wnid: string, p: number): Float32Array => {
    const probs = new Float32Array(1000).fill((1 - p) / 999);
    probs[t.hierarchy.labelSet.wnids.indexOf(wnid)] = p;
    return probs;
  };

  it("a coffee cup's path never says punch, mixed drink, alcohol or drug of abuse", () => {
    for (const p of [0.3, 0.6, 0.97]) {
      const a = analyzePrediction({ probs: peaked('n07930864', p), model: { id: 'm', sha256: 's' } }, t);
      assert.ok(a.hedged);
      const names = hedgedPath(t.hierarchy, a.hedged.wnid, t.policy).map((n) => n.name);
      for (const bad of ['punch', 'mixed drink', 'alcohol', 'drug of abuse']) assert.ok(!names.includes(bad) && a.hedged.name !== bad, `${p}: ${names.join(' > ')}`);
    }
  });

  it('a vague root is shown as "not sure" with the best guesses; a concrete synset as itself', () => {
    const vague = shownLabel(t.categories, { wnid: 'n00001740', name: 'entity' }, [{ name: 'Beach' }, { name: 'Sky' }], [{ name: 'seashore' }, { name: 'sandbar' }]);
    assert.deepEqual(vague, { text: 'not sure', sure: false, wnid: null, guesses: ['Beach', 'Sky', 'seashore'] });
    assert.equal(shownLabel(t.categories, { wnid: 'n00021939', name: 'artifact' }, [], [{ name: 'handcart' }]).text, 'not sure');
    assert.equal(shownLabel(t.categories, null, [], [{ name: 'handcart' }]).guesses[0], 'handcart');
    assert.deepEqual(shownLabel(t.categories, { wnid: 'n02084071', name: 'dog' }, [], []), { text: 'dog', sure: true, wnid: 'n02084071', guesses: [] });
  });
});
