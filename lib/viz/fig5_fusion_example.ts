/**
 * Fig. 5: one training sample's distributions side by side: its label distribution
 * (auxiliary branch, eq. 1-2), the class distribution of its label (eq. 4-7), their fusion
 * with the sample's attention weight w (eq. 12: fused = w * class + (1 - w) * label) and,
 * where the data set knows it (SynthFER, FERPlus), the true distribution.
 *
 * @module
 */
import { CLASSES } from "../data/classes.ts";
import type { VegaLiteSpec } from "./render.ts";
import type { TrackedSample } from "../run/records.ts";
import { checkClasses, classColorScale, VEGA_LITE_SCHEMA } from "./palette.ts";

/** Panel names of Fig. 5, in order. */
export const FUSION_PANELS = [
  "label distribution",
  "class distribution of its label",
  "fused distribution",
  "true distribution",
] as const;

/** Options of {@linkcode fusionExampleFigure}. */
export interface FusionExampleFigureOptions {
  classes?: readonly string[];
  /** The epoch the sample was recorded at, for the title. */
  epoch?: number;
  title?: string;
}

/** The Fig. 5 spec of one tracked sample (all distributions [C]). */
export function fusionExampleFigure(sample: TrackedSample, options: FusionExampleFigureOptions = {}): VegaLiteSpec {
  const classes = checkClasses(options.classes ?? CLASSES, "fusionExampleFigure()");
  const c = classes.length;
  const dists: [string, number[] | null | undefined][] = [
    [FUSION_PANELS[0], sample.labelDistribution],
    [FUSION_PANELS[1], sample.classDistribution],
    [FUSION_PANELS[2], sample.fused],
    [FUSION_PANELS[3], sample.trueDistribution],
  ];
  const values = dists.flatMap(([panel, d]) => {
    if (d === null || d === undefined) return [];
    if (d.length !== c) throw new RangeError(`fusionExampleFigure(): ${panel} must have ${c} entries, got ${d.length}`);
    return d.map((p, j) => ({ panel, class: classes[j], p }));
  });
  const panels = dists.filter(([, d]) => d).map(([p]) => p);
  const label = classes[sample.label] ?? String(sample.label);
  const epoch = options.epoch === undefined ? "" : `, epoch ${options.epoch}`;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ??
        `Fig. 5 · Training face #${sample.index} (label: ${label})${epoch}: attention weight w = ${
          sample.w.toFixed(2)
        }`,
      subtitle: [
        `fused = w · class distribution + (1 − w) · label distribution (eq. 12)${
          sample.trueDistribution ? "; true distribution of the data set" : ""
        }; outlined bar: its label`,
        sample.source === "batch"
          ? `as the loss used them in the face's training batch${sample.step ? ` (step ${sample.step})` : ""}: ` +
            "augmented image, w normalised over that batch"
          : "eval-mode view after the epoch, w normalised over the whole training set",
      ],
    },
    data: { values },
    facet: {
      column: { field: "panel", type: "nominal", sort: panels, title: null, header: { labelFontWeight: "bold" } },
    },
    spec: {
      width: 170,
      height: 190,
      layer: [
        {
          mark: { type: "bar" },
          encoding: {
            x: { field: "class", type: "nominal", sort: [...classes], title: null, axis: { labelAngle: -45 } },
            y: { field: "p", type: "quantitative", scale: { domain: [0, 1] }, title: "probability" },
            color: { field: "class", type: "nominal", scale: classColorScale(classes), legend: null },
            stroke: { condition: { test: `datum.class === ${JSON.stringify(label)}`, value: "#222222" }, value: null },
            strokeWidth: { value: 1.5 },
          },
        },
        {
          mark: { type: "text", dy: -7, fontSize: 10 },
          encoding: {
            x: { field: "class", type: "nominal", sort: [...classes] },
            y: { field: "p", type: "quantitative" },
            text: { field: "p", type: "quantitative", format: ".2f" },
          },
        },
      ],
    },
    spacing: 14,
  };
}

/**
 * Picks the tracked sample to show in Fig. 5 and 6: the most ambiguous one, by the entropy
 * of its true distribution where known, else of its label distribution. Returns its
 * training index. samples: one epoch's tracked samples.
 */
export function pickTrackedSample(samples: readonly TrackedSample[]): number {
  if (samples.length === 0) throw new RangeError("pickTrackedSample(): no tracked samples");
  const entropy = (d: readonly number[]) => d.reduce((h, p) => (p > 0 ? h - p * Math.log(p) : h), 0);
  let best = samples[0];
  let bestH = -Infinity;
  for (const s of samples) {
    const h = entropy(s.trueDistribution ?? s.labelDistribution);
    if (h > bestH) {
      bestH = h;
      best = s;
    }
  }
  return best.index;
}
