/**
 * The two figures of the measured distributions (lib/analysis/distribution_measures.ts):
 * which training target is nearest each face's true distribution across epochs, and how well
 * the attention weight marks flipped labels and blended faces (ROC AUC across epochs, and the
 * ROC curve of the last epoch). Pure vega-lite specs.
 * @module
 */
import type { DistributionRecord, TargetName } from "../analysis/distribution_measures.ts";
import type { VegaLiteSpec } from "./render.ts";
import { SERIES_COLORS, VEGA_LITE_SCHEMA } from "./palette.ts";

const TARGET_TITLES: Record<TargetName, string> = {
  label: "label distribution d_label",
  class: "class distribution d_class[y]",
  fused: "fused target (what the loss used)",
  onehot: "one-hot label y",
};

/** "Which target is nearest the truth": mean JS divergence per target and epoch, for all, clear and blended faces. */
export function nearestTargetFigure(records: readonly DistributionRecord[]): VegaLiteSpec {
  const values = records.flatMap((r) =>
    (Object.keys(TARGET_TITLES) as TargetName[]).flatMap((t) =>
      (["all", "clear", "blended"] as const).flatMap((g) => {
        const s = r.js[t][g];
        return Number.isFinite(s.mean)
          ? [{ epoch: r.epoch, target: TARGET_TITLES[t], faces: `${g} faces`, js: s.mean, q1: s.q1, q3: s.q3 }]
          : [];
      })
    )
  );
  const color = {
    field: "target",
    type: "nominal",
    sort: Object.values(TARGET_TITLES),
    scale: { domain: Object.values(TARGET_TITLES), range: SERIES_COLORS.slice(0, 4) },
    title: null,
  };
  const x = { field: "epoch", type: "quantitative", axis: { tickMinStep: 1, format: "d" } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Which target is nearest the truth?",
      subtitle: [
        "Jensen-Shannon divergence from each training face's true distribution to each target, mean over the faces",
        "(band: quartiles); lower is nearer",
      ],
    },
    data: { values },
    facet: {
      column: { field: "faces", type: "nominal", sort: ["all faces", "clear faces", "blended faces"], title: null },
    },
    spec: {
      width: 240,
      height: 200,
      layer: [
        {
          mark: { type: "area", opacity: 0.15 },
          encoding: { x, y: { field: "q1", type: "quantitative" }, y2: { field: "q3" }, color },
        },
        {
          mark: { type: "line", point: true },
          encoding: { x, y: { field: "js", type: "quantitative", title: "JS divergence (nats)" }, color },
        },
      ],
    },
    resolve: { scale: { y: "shared" } },
  };
}

/** "Attention vs flipped labels": ROC AUC of a low attention weight per epoch, and the last epoch's ROC curves. */
export function attentionRocFigure(records: readonly DistributionRecord[]): VegaLiteSpec {
  const kinds = { flipped: "flipped vs clean labels", blended: "blended vs clear faces" } as const;
  const auc = records.flatMap((r) =>
    (Object.keys(kinds) as (keyof typeof kinds)[]).flatMap((k) =>
      Number.isFinite(r.auc[k]) ? [{ epoch: r.epoch, kind: kinds[k], auc: r.auc[k] }] : []
    )
  );
  const last = records.at(-1);
  const roc = last
    ? (Object.keys(kinds) as (keyof typeof kinds)[]).flatMap((k) =>
      last.roc[k].map((p, i) => ({ ...p, i, kind: kinds[k] }))
    )
    : [];
  const color = {
    field: "kind",
    type: "nominal",
    scale: { domain: Object.values(kinds), range: SERIES_COLORS.slice(0, 2) },
    title: null,
  };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Does a low attention weight mark flipped labels and blended faces?",
      subtitle: "ROC AUC of 1 - w (0.5 = chance) per epoch; ROC curves of the last epoch",
    },
    hconcat: [
      {
        width: 300,
        height: 220,
        data: { values: auc },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "epoch", type: "quantitative", axis: { tickMinStep: 1, format: "d" } },
          y: { field: "auc", type: "quantitative", scale: { domain: [0, 1] }, title: "ROC AUC" },
          color,
        },
      },
      {
        width: 220,
        height: 220,
        title: last ? `epoch ${last.epoch}` : "",
        data: { values: roc },
        mark: { type: "line" },
        encoding: {
          x: { field: "fpr", type: "quantitative", scale: { domain: [0, 1] }, title: "false positive rate" },
          y: { field: "tpr", type: "quantitative", scale: { domain: [0, 1] }, title: "true positive rate" },
          order: { field: "i" },
          color,
        },
      },
    ],
  };
}
