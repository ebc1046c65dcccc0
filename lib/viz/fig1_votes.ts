/**
 * Fig. 1 of the tour: one face and its annotators' votes, the reason label distributions
 * exist (SynthFER's simulated annotators, or FERPlus's ten real ones). The face is an
 * `image` mark holding a PNG data URL, so the spec stays self-contained.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import { checkClasses, classColorScale, VEGA_LITE_SCHEMA } from "./palette.ts";

/** What Fig. 1 shows of one face. */
export interface VotedFace {
  /** The face as a data URL (`data:image/png;base64,...`), see {@linkcode rgbToPngDataUrl}. */
  imageUrl: string;
  /** Votes per class. [C] */
  votes: ArrayLike<number>;
  /** The true distribution where the data set knows it (SynthFER). [C] */
  trueDistribution?: ArrayLike<number>;
  /** e.g. "SynthFER test face #12". */
  caption?: string;
}

/** Options of {@linkcode votesFigure}. */
export interface VotesFigureOptions {
  classes?: readonly string[];
  title?: string;
  /** Side of the drawn face in pixels (default 200). */
  imageSize?: number;
}

/**
 * Encodes RGB pixels as a PNG data URL, scaled up to `scaleTo` pixels a side with
 * smooth interpolation (48-pixel faces are small on screen). pixels [S, S, 3].
 */
export async function rgbToPngDataUrl(
  pixels: Uint8Array,
  size: number,
  options: { scaleTo?: number } = {},
): Promise<string> {
  if (pixels.length !== size * size * 3) {
    throw new RangeError(
      `rgbToPngDataUrl(): expected ${size}x${size}x3 = ${size * size * 3} bytes, got ${pixels.length}`,
    );
  }
  let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: size, height: size, channels: 3 },
  });
  if (options.scaleTo && options.scaleTo !== size) {
    img = img.resize(options.scaleTo, options.scaleTo, { kernel: "cubic" });
  }
  const png = await img.png().toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/** Encodes an SVG document (e.g. SynthFER's `faceSvg`) as a PNG data URL at its own size. */
export async function svgToPngDataUrl(svg: string): Promise<string> {
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/**
 * Picks a face worth showing in Fig. 1: one whose votes are split (highest entropy of the
 * vote counts; with a true distribution: highest true entropy minus twice the L1 gap between
 * the vote shares and it) with a unique majority of 40-60 % of the votes that agrees with the
 * true argmax when known, so the figure shows ambiguity rather than annotator noise. Returns the
 * face index, or -1 when `votes` is empty. votes [N * C], trueDistributions [N * C].
 */
export function pickAmbiguousFace(
  votes: ArrayLike<number>,
  numClasses: number,
  trueDistributions?: ArrayLike<number>,
): number {
  const n = Math.floor(votes.length / numClasses);
  const argmax = (a: ArrayLike<number>, o: number) => {
    let b = 0;
    for (let j = 1; j < numClasses; j++) if (a[o + j] > a[o + b]) b = j;
    return b;
  };
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < n; i++) {
    const o = i * numClasses;
    let k = 0;
    for (let j = 0; j < numClasses; j++) k += votes[o + j];
    if (k <= 0) continue;
    let h = 0;
    for (let j = 0; j < numClasses; j++) {
      const p = votes[o + j] / k;
      if (p > 0) h -= p * Math.log(p);
    }
    const top = argmax(votes, o);
    const unique = Array.from({ length: numClasses }, (_, j) =>
      votes[o + j]).filter((v) => v === votes[o + top]).length === 1;
    const agrees = trueDistributions ? argmax(trueDistributions, o) === top : true;
    // a clear majority (40-60 % of the votes, no tie, the true argmax) that is still split;
    // faces outside that band rank below every face inside it
    const share = votes[o + top] / k;
    let score = !unique || !agrees ? -Infinity : share >= 0.4 && share <= 0.6 ? h : h - 100;
    if (trueDistributions && Number.isFinite(score)) {
      // an ambiguous face whose votes follow its true distribution: true entropy minus the L1 gap
      let ht = 0;
      let gap = 0;
      for (let j = 0; j < numClasses; j++) {
        const q = trueDistributions[o + j];
        if (q > 0) ht -= q * Math.log(q);
        gap += Math.abs(votes[o + j] / k - q);
      }
      score = (share >= 0.4 && share <= 0.6 ? 0 : -100) + ht - 2 * gap;
    }
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  if (best < 0 && n > 0) best = 0;
  return best;
}

/** The Fig. 1 spec: the face on the left, its votes per class on the right. */
export function votesFigure(face: VotedFace, options: VotesFigureOptions = {}): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "votesFigure()");
  const c = classes.length;
  if (face.votes.length !== c) {
    throw new RangeError(`votesFigure(): votes must have ${c} entries, got ${face.votes.length}`);
  }
  if (!face.imageUrl.startsWith("data:image/")) {
    throw new TypeError("votesFigure(): imageUrl must be a data:image/... URL (the spec stays self-contained)");
  }
  const votes = Array.from(face.votes);
  const k = votes.reduce((a, b) => a + b, 0);
  const truth = face.trueDistribution ? Array.from(face.trueDistribution) : undefined;
  if (truth && truth.length !== c) throw new RangeError(`votesFigure(): trueDistribution must have ${c} entries`);
  const bars = classes.map((name, j) => ({
    class: name,
    votes: votes[j],
    expected: truth ? truth[j] * k : null,
  }));
  const top = Math.max(...votes, ...(truth ? truth.map((p) => p * k) : [0]));
  const majority = classes[votes.indexOf(Math.max(...votes))];
  const s = options.imageSize ?? 200;
  const x = { field: "class", type: "nominal", sort: [...classes], title: null, axis: { labelAngle: -35 } };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: "bar" },
      encoding: {
        x,
        y: {
          field: "votes",
          type: "quantitative",
          title: "annotators' votes",
          scale: { domain: [0, Math.ceil(top + 1)] },
          axis: { tickMinStep: 1, format: "d" },
        },
        color: { field: "class", type: "nominal", scale: classColorScale(classes), legend: null },
      },
    },
    {
      // the count sits above both the bar and the tick of the expected votes
      transform: [{ calculate: "max(datum.votes, datum.expected || 0)", as: "top" }],
      mark: { type: "text", dy: -9, fontSize: 11 },
      encoding: { x, y: { field: "top", type: "quantitative" }, text: { field: "votes", type: "quantitative" } },
    },
  ];
  if (truth) {
    layers.push({
      mark: { type: "tick", color: "#222222", thickness: 3, size: 34 },
      encoding: { x, y: { field: "expected", type: "quantitative" } },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Fig. 1 · One face, ${k} annotators: a label distribution, not one label`,
      subtitle: [
        `${face.caption ? `${face.caption}; ` : ""}majority label: ${majority} (${Math.max(...votes)} of ${k} votes)`,
        ...(truth ? [`black ticks: the true distribution x ${k}, the expected votes`] : []),
      ],
    },
    hconcat: [
      {
        width: s,
        height: s,
        view: { stroke: null },
        data: { values: [{ url: face.imageUrl }] },
        mark: { type: "image", width: s, height: s, aspect: false },
        encoding: { url: { field: "url", type: "nominal" }, x: { value: s / 2 }, y: { value: s / 2 } },
      },
      { width: 300, height: s, data: { values: bars }, layer: layers },
    ],
    spacing: 24,
  };
}
