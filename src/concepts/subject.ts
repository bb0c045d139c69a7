// A photo's consumer category (subject: animals, people, landscapes & nature...): the everyday head's softmax
// subject head, nudged by the photo's concept scores, with detected people deciding `people`. Pure.

/** Weight of the best concept margin (log-odds above threshold) of a subject, added to its log-probability. */
export const SUBJECT_TAG_WEIGHT = 0.5;
/** The margin detection gives `people`: +3 when people were detected, -3 when detection ran and found none. */
export const PEOPLE_MARGIN = 3;
export const PEOPLE_SUBJECT = 'people';

const logit = (p: number): number => {
  const q = Math.min(1 - 1e-7, Math.max(1e-7, p));
  return Math.log(q / (1 - q));
};

export interface SubjectChoice {
  id: string;
  /** The subject head's probability for it. */
  score: number;
}

/**
 * The subject of a photo: argmax over subjects of log p(subject) + SUBJECT_TAG_WEIGHT x (the best margin of the
 * subject's concepts). With `peopleDetected` (detection ran), people found decide `people` and the margin of
 * `people` is +-PEOPLE_MARGIN instead of its concepts' (detection beats the head for people).
 */
export function chooseSubject(
  subjects: readonly string[],
  probs: ArrayLike<number>,
  concepts: ReadonlyArray<{ subject?: string; threshold: number }>,
  scores: ArrayLike<number>,
  peopleDetected?: boolean,
): SubjectChoice {
  const margin = new Float64Array(subjects.length).fill(-Infinity);
  concepts.forEach((c, j) => {
    const s = c.subject === undefined ? -1 : subjects.indexOf(c.subject);
    if (s >= 0) margin[s] = Math.max(margin[s], logit(scores[j]) - logit(c.threshold));
  });
  const people = subjects.indexOf(PEOPLE_SUBJECT);
  if (peopleDetected !== undefined && people >= 0) {
    if (peopleDetected) return { id: PEOPLE_SUBJECT, score: probs[people] };
    margin[people] = -PEOPLE_MARGIN;
  }
  let best = 0;
  let bestValue = -Infinity;
  subjects.forEach((_, s) => {
    const v = Math.log(Math.max(probs[s], 1e-12)) + SUBJECT_TAG_WEIGHT * (Number.isFinite(margin[s]) ? margin[s] : 0);
    if (v > bestValue) {
      bestValue = v;
      best = s;
    }
  });
  return { id: subjects[best], score: probs[best] };
}
