/**
 * Fig. 2 of the tour: the Ada-DF architecture, drawn with vega-lite rect, text, rule and
 * point marks on a 100 x 54 grid (10 pixels a unit): the shared stem, the auxiliary and
 * target branches, their attention heads, the label and class distributions, the fusion
 * of eq. 12 and the losses of eq. 3, 10 and 13.
 *
 * @module
 */
import type { VegaLiteSpec } from "./render.ts";
import { VEGA_LITE_SCHEMA } from "./palette.ts";

/** Options of {@linkcode architectureFigure}: what the drawing says of the configured model. */
export interface ArchitectureFigureOptions {
  /** "resnet18" (default) or "resnet50". */
  backbone?: string;
  /** Whether the stem is frozen (pretrained weights) or trained with the rest (default true, as in the paper). */
  stemFrozen?: boolean;
  /** Pooled feature size D of each branch (default 512; 2048 for ResNet-50). */
  featureDim?: number;
  /** Input side in pixels (default 100, the paper's). */
  imageSize?: number;
  /** Where attention scales: "logits" (official code, default) or "features" (the paper). */
  attentionOn?: string;
  title?: string;
}

interface Box {
  x: number;
  x2: number;
  y: number;
  y2: number;
  head: string;
  detail: string;
  fill: string;
}

/** The Fig. 2 spec (pure drawing; nothing is computed from a model). */
export function architectureFigure(options: ArchitectureFigureOptions = {}): VegaLiteSpec {
  const backbone = options.backbone === "resnet50" ? "ResNet-50" : "ResNet-18";
  const d = options.featureDim ?? (backbone === "ResNet-50" ? 2048 : 512);
  const s = options.imageSize ?? 100;
  const frozen = options.stemFrozen ?? true;
  const scaled = options.attentionOn === "features" ? "fc(w · feature)" : "w · fc(feature)";
  const aux = "#CFE3F3";
  const tar = "#F9D5DA";
  const att = "#F3EDC8";
  const dist = "#D3EBD5";
  const boxes: Box[] = [
    { x: 0, x2: 8.5, y: 18, y2: 26, head: "face", detail: `RGB ${s}×${s}`, fill: "#FFFFFF" },
    {
      x: 11,
      x2: 25.5,
      y: 15,
      y2: 29,
      head: "shared stem",
      detail: `conv1 · bn · relu\nmaxpool · layer1\n${frozen ? "frozen (pretrained)" : "trained (random init)"}`,
      fill: "#DDDDDD",
    },
    {
      x: 28.5,
      x2: 43.5,
      y: 30,
      y2: 40,
      head: "branch 1: auxiliary",
      detail: `layer2-4 · pool\nfc(${d} → C)`,
      fill: aux,
    },
    { x: 28.5, x2: 43.5, y: 4, y2: 14, head: "branch 2: target", detail: `layer2-4 · pool\nfc(${d} → C)`, fill: tar },
    {
      x: 46,
      x2: 58,
      y: 30,
      y2: 40,
      head: "attention 1",
      detail: `Linear(${d} → 1)\nsigmoid → w_aux\n${scaled}`,
      fill: att,
    },
    {
      x: 46,
      x2: 58,
      y: 4,
      y2: 14,
      head: "attention 2",
      detail: `Linear(${d} → 1)\nsigmoid → w_tar\n${scaled}`,
      fill: att,
    },
    {
      x: 62,
      x2: 77,
      y: 36,
      y2: 46,
      head: "label distribution",
      detail: "softmax (eq. 1-2)\nL_ce vs label (eq. 3)",
      fill: aux,
    },
    {
      x: 62,
      x2: 77,
      y: 24,
      y2: 33,
      head: "class distributions",
      detail: "C×C, mined each\nepoch (eq. 4-7)",
      fill: dist,
    },
    {
      x: 62,
      x2: 77,
      y: 12,
      y2: 22,
      head: "attention weight w",
      detail: "mean, normalised\n(eq. 8, 11);\nL_RR (eq. 10)",
      fill: att,
    },
    { x: 62, x2: 77, y: 2, y2: 10, head: "prediction", detail: "softmax of the\ntarget logits", fill: tar },
    {
      x: 81,
      x2: 99,
      y: 24,
      y2: 38,
      head: "fusion (eq. 12)",
      detail: "w · class distribution\n+ (1 − w) · label\ndistribution",
      fill: "#FFFFFF",
    },
    {
      x: 81,
      x2: 99,
      y: 2,
      y2: 12,
      head: "L_kld (eq. 13)",
      detail: "KL(fused ‖ prediction)\ntrains the target\nbranch",
      fill: "#EEEEEE",
    },
  ];
  const arrows: [number, number, number, number, boolean?][] = [
    [8.5, 22, 11, 22],
    [25.5, 24, 28.5, 35],
    [25.5, 20, 28.5, 9],
    [43.5, 35, 46, 35],
    [43.5, 9, 46, 9],
    [58, 38, 62, 41],
    [69.5, 36, 69.5, 33, true],
    [58, 32, 62, 19],
    [58, 12, 62, 16],
    [58, 7, 62, 6],
    [77, 41, 81, 35],
    [77, 28.5, 81, 31],
    [77, 17, 81, 27],
    [90, 24, 90, 12],
    [77, 6, 81, 7],
  ];
  const head = 0.9; // arrow-head length in grid units
  const rules = arrows.map(([x, y, x2, y2, dashed]) => {
    const len = Math.hypot(x2 - x, y2 - y);
    const ux = (x2 - x) / len;
    const uy = (y2 - y) / len;
    return {
      x,
      y,
      x2: x2 - ux * head,
      y2: y2 - uy * head,
      hx: x2 - ux * head * 0.55,
      hy: y2 - uy * head * 0.55,
      // screen angle, clockwise from up; grid units are square (10 px each way)
      angle: (Math.atan2(ux, uy) * 180) / Math.PI,
      dashed: dashed ? "dashed" : "solid",
    };
  });
  const W = 1000;
  const H = 540;
  const xs = { type: "linear", domain: [0, 100], nice: false, zero: false };
  const ys = { type: "linear", domain: [-6, 48], nice: false, zero: false };
  const X = (f: string) => ({ field: f, type: "quantitative", scale: xs, axis: null });
  const Y = (f: string) => ({ field: f, type: "quantitative", scale: ys, axis: null });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: options.title ?? `Fig. 2 · Ada-DF: two branches on a shared stem (${backbone})`,
      subtitle:
        "blue: auxiliary branch; red: target branch (the one used at inference); yellow: attention; green: class distributions",
    },
    width: W,
    height: H,
    view: { stroke: null },
    layer: [
      {
        data: { values: boxes },
        mark: { type: "rect", stroke: "#444444", strokeWidth: 1.5, cornerRadius: 6 },
        encoding: {
          x: X("x"),
          x2: { field: "x2" },
          y: Y("y"),
          y2: { field: "y2" },
          fill: { field: "fill", type: "nominal", scale: null },
        },
      },
      {
        data: { values: boxes },
        transform: [{ calculate: "(datum.x + datum.x2) / 2", as: "cx" }, { calculate: "datum.y2 - 1", as: "ty" }],
        mark: { type: "text", baseline: "top", fontSize: 13, fontWeight: "bold" },
        encoding: { x: X("cx"), y: Y("ty"), text: { field: "head" } },
      },
      {
        data: { values: boxes },
        transform: [{ calculate: "(datum.x + datum.x2) / 2", as: "cx" }, { calculate: "datum.y2 - 3.1", as: "ty" }],
        mark: { type: "text", baseline: "top", fontSize: 12, lineBreak: "\n", lineHeight: 16, color: "#222222" },
        encoding: { x: X("cx"), y: Y("ty"), text: { field: "detail" } },
      },
      {
        data: { values: rules },
        mark: { type: "rule", strokeWidth: 2, color: "#444444" },
        encoding: {
          x: X("x"),
          x2: { field: "x2" },
          y: Y("y"),
          y2: { field: "y2" },
          strokeDash: {
            field: "dashed",
            type: "nominal",
            scale: { domain: ["solid", "dashed"], range: [[1, 0], [5, 3]] },
            legend: null,
          },
        },
      },
      {
        data: { values: rules },
        mark: { type: "point", shape: "triangle", filled: true, size: 90, color: "#444444", opacity: 1 },
        encoding: { x: X("hx"), y: Y("hy"), angle: { field: "angle", type: "quantitative", scale: null } },
      },
      {
        data: {
          values: [{
            x: 50,
            y: -3,
            text: "total loss L = L_RR + a1 · L_ce + a2 · L_kld (eq. 14-16); inference uses the target branch only",
          }],
        },
        mark: { type: "text", fontSize: 13, fontStyle: "italic" },
        encoding: { x: X("x"), y: Y("y"), text: { field: "text" } },
      },
    ],
  };
}
