/**
 * The labels of one SynthFER split, before any pixels: which class dominates each face,
 * which faces are blends, their true distributions, the annotators' votes and the
 * majority-vote label.
 *
 * @module
 */
import type { Prng } from "../../util/prng.ts";
import { NUM_CLASSES } from "../classes.ts";
import { classQuota, drawTrueDistribution, drawVotes, majorityVote } from "./labels.ts";

/** The labels of one split, in the split's (shuffled) order. */
export interface SplitLabels {
  /** Majority-vote label. [N] */
  labels: Int32Array;
  /** True label distribution, float32 so that a cache round trip is exact. [N * 7] */
  trueDistributions: Float32Array;
  /** Vote counts of the K annotators, each row sums to K. [N * 7] */
  votes: Int32Array;
  /** 1 where the face was drawn as a blend of two or three expressions. [N] */
  blended: Uint8Array;
  /** The seed each face's parameters are drawn from. [N] */
  faceSeeds: Uint32Array;
}

/** Votes are redrawn at most this many times for the one guaranteed face of each class. */
const MAX_ANCHOR_REDRAWS = 1000;

/**
 * Draws the labels of a split of `count` faces.
 *
 * Dominant classes follow `classQuota` (every class at least once). One clear face per
 * class is an "anchor": its votes are redrawn until their majority is its dominant class,
 * so every class appears among the majority-vote labels of every split. Of the other
 * faces, round(`ambiguousFraction` * count) (at most count - 7) are blends.
 */
export function drawSplitLabels(
  count: number,
  prng: Prng,
  options: {
    ambiguousFraction: number;
    clearMass: readonly [number, number];
    annotatorTilt: Float64Array;
  },
): SplitLabels {
  const quota = classQuota(count);
  const primary: number[] = [];
  quota.forEach((q, c) => {
    for (let k = 0; k < q; k++) primary.push(c);
  });
  const anchor = new Uint8Array(count);
  for (let c = 0; c < NUM_CLASSES; c++) anchor[primary.indexOf(c)] = 1;
  const others = primary.map((_, i) => i).filter((i) => !anchor[i]);
  prng.shuffle(others);
  const blended = new Uint8Array(count);
  const blendCount = Math.min(Math.round(options.ambiguousFraction * count), others.length);
  for (let k = 0; k < blendCount; k++) blended[others[k]] = 1;

  // in sorted-by-class order first, shuffled at the end
  const labels = new Int32Array(count);
  const trueDistributions = new Float32Array(count * NUM_CLASSES);
  const votes = new Int32Array(count * NUM_CLASSES);
  const faceSeeds = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const p = drawTrueDistribution(primary[i], prng, { blended: blended[i] === 1, clearMass: options.clearMass });
    const p32 = trueDistributions.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES);
    p32.set(p);
    let v = drawVotes(p32, options.annotatorTilt, prng);
    let label = majorityVote(v, prng);
    for (let t = 0; anchor[i] && label !== primary[i] && t < MAX_ANCHOR_REDRAWS; t++) {
      v = drawVotes(p32, options.annotatorTilt, prng);
      label = majorityVote(v, prng);
    }
    votes.set(v, i * NUM_CLASSES);
    labels[i] = label;
    faceSeeds[i] = prng.nextUint32();
  }

  const order = prng.shuffle(Array.from({ length: count }, (_, i) => i));
  const out: SplitLabels = {
    labels: new Int32Array(count),
    trueDistributions: new Float32Array(count * NUM_CLASSES),
    votes: new Int32Array(count * NUM_CLASSES),
    blended: new Uint8Array(count),
    faceSeeds: new Uint32Array(count),
  };
  order.forEach((src, dst) => {
    out.labels[dst] = labels[src];
    out.blended[dst] = blended[src];
    out.faceSeeds[dst] = faceSeeds[src];
    out.trueDistributions.set(
      trueDistributions.subarray(src * NUM_CLASSES, (src + 1) * NUM_CLASSES),
      dst * NUM_CLASSES,
    );
    out.votes.set(votes.subarray(src * NUM_CLASSES, (src + 1) * NUM_CLASSES), dst * NUM_CLASSES);
  });
  return out;
}
