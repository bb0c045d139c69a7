// The people decision's pure rules: which photos the face stage looks at, and which face-stage results need the
// object detector's person bodies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BODY_RULES, FACE_RULES, PEOPLE_RULES, TURN_RULES, decidePeople, wantsBodies, wantsFaces, wantsTurn, type PeopleCues } from '../../src/taxonomy/people.js';
import type { DetectedFace } from '../../src/vision/faces/detector.js';

const face = (over: Partial<DetectedFace> = {}): DetectedFace => ({
  box: [10, 10, 50, 50],
  boxScore: 0.9,
  meshScore: 0.95,
  landmarks: [],
  pose: { yaw: 0, pitch: 0, roll: 0 },
  personScore: 0,
  embedding: null,
  ...over,
});
const cues = (over: Partial<PeopleCues> = {}): PeopleCues => ({ animalScore: 0, personCue: 0, groupCue: 0, portraitCue: 0, ...over });

test('the face stage looks only where a person, group or portrait cue reaches its rule (or no head gives a cue)', () => {
  assert.equal(wantsFaces(cues({ personCue: 0.1, groupCue: 0.2, portraitCue: 0.05 })), false);
  assert.equal(wantsFaces(cues({ personCue: FACE_RULES.cue })), true);
  assert.equal(wantsFaces(cues({ groupCue: FACE_RULES.cue })), true);
  assert.equal(wantsFaces(cues({ portraitCue: 2 })), true);
  assert.equal(wantsFaces(cues({ personCue: null, groupCue: null, portraitCue: null })), true);
  // a stronger cue never turns the face stage off (property)
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: 4, maxLength: 4 }), ([p, g, q, more]) => {
      if (wantsFaces(cues({ personCue: p, groupCue: g, portraitCue: q }))) assert.ok(wantsFaces(cues({ personCue: p! + more!, groupCue: g, portraitCue: q })));
    }),
  );
});

test('no face: bodies only when the person cue reaches its rule (or no head gives a cue)', () => {
  assert.equal(wantsBodies([], cues({ personCue: 0.1 })), false);
  assert.equal(wantsBodies([], cues({ personCue: BODY_RULES.personCue })), true);
  assert.equal(wantsBodies([], cues({ personCue: null })), true);
  // a weak box or a weak mesh is no face
  assert.equal(wantsBodies([face({ boxScore: 0.3 }), face({ meshScore: 0.5 })], cues({ personCue: 0.1 })), false);
});

test('faces in a photo the classifier calls an animal always need bodies; a group never does', () => {
  assert.equal(wantsBodies([face()], cues({ animalScore: PEOPLE_RULES.animal })), true);
  assert.equal(wantsBodies([face(), face(), face()], cues({ groupCue: 5 })), false);
  assert.equal(wantsBodies([face()], cues({ groupCue: 0.1 })), false);
  assert.equal(wantsBodies([face()], cues({ groupCue: BODY_RULES.groupCue })), true);
});

test('skipping bodies never loses a person the faces alone decide (property)', () => {
  const faceArb = fc.record({ boxScore: fc.double({ min: 0, max: 1, noNaN: true }), meshScore: fc.double({ min: 0, max: 1, noNaN: true }) }).map((f) => face(f));
  fc.assert(
    fc.property(fc.array(faceArb, { maxLength: 5 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true }), (faces, animal, personCue) => {
      const c = cues({ animalScore: animal, personCue, groupCue: personCue });
      if (wantsBodies(faces, c)) return;
      // without bodies, the decision from faces alone is the one made
      const alone = decidePeople({ faces, persons: [], width: 640, height: 480, animalScore: animal });
      const human = faces.filter((f) => f.boxScore >= PEOPLE_RULES.faceBox && f.meshScore >= PEOPLE_RULES.faceMesh);
      assert.equal(alone.tags.some((t) => t.id === 'person'), human.length > 0);
    }),
  );
});

test('the photo is looked at turned only when no face counts and the person cue says people (never without a head)', () => {
  assert.equal(wantsTurn([], cues({ personCue: TURN_RULES.personCue })), true);
  assert.equal(wantsTurn([], cues({ personCue: TURN_RULES.personCue - 0.01 })), false);
  assert.equal(wantsTurn([], cues({ personCue: null })), false);
  // weak boxes or meshes are no face: still turned
  assert.equal(wantsTurn([face({ boxScore: 0.3 }), face({ meshScore: 0.5 })], cues({ personCue: 2 })), true);
  // a face that can count: no turn, whatever the cue
  fc.assert(fc.property(fc.double({ min: 0, max: 5, noNaN: true }), (p) => assert.equal(wantsTurn([face()], cues({ personCue: p })), false)));
});
