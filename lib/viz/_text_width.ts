/**
 * Text widths for vega's layout without a canvas. Headless vega otherwise estimates a
 * string as 0.8 x font size per character, about a third too wide for DejaVu Sans, which
 * leaves wide empty margins around titles and labels. These are DejaVu Sans advance
 * widths (units of 1/2048 em) for printable ASCII; other characters count as a digit.
 */
// deno-fmt-ignore
const ADVANCE: Record<string, number> = {
  " ": 651, "!": 823, '"': 942, "#": 1716, "$": 1303, "%": 1946, "&": 1597, "'": 563, "(": 799, ")": 799,
  "*": 1024, "+": 1716, ",": 651, "-": 739, ".": 651, "/": 690, ":": 690, ";": 690, "<": 1716, "=": 1716,
  ">": 1716, "?": 1087, "@": 2048, "[": 799, "\\": 690, "]": 799, "^": 1716, _: 1024, "`": 1024, "{": 1303,
  "|": 690, "}": 1303, "~": 1716,
  A: 1401, B: 1405, C: 1430, D: 1577, E: 1294, F: 1178, G: 1587, H: 1540, I: 604, J: 604, K: 1343, L: 1141,
  M: 1767, N: 1532, O: 1612, P: 1235, Q: 1612, R: 1423, S: 1300, T: 1251, U: 1499, V: 1401, W: 2025, X: 1403,
  Y: 1251, Z: 1403,
  a: 1255, b: 1300, c: 1126, d: 1300, e: 1260, f: 721, g: 1300, h: 1298, i: 569, j: 569, k: 1186, l: 569,
  m: 1995, n: 1298, o: 1253, p: 1300, q: 1300, r: 842, s: 1067, t: 803, u: 1298, v: 1212, w: 1675, x: 1212,
  y: 1212, z: 1075,
};
const DIGIT = 1303;
/** DejaVu Sans Bold is about this much wider than the book weight. */
const BOLD = 1.12;

/** Width in pixels of `text` in DejaVu Sans at `fontSize`, bold or not. */
export function dejaVuTextWidth(text: string, fontSize: number, bold = false): number {
  let units = 0;
  for (const ch of text) units += ADVANCE[ch] ?? DIGIT;
  return (units / 2048) * fontSize * (bold ? BOLD : 1);
}

/** A vega `textMetrics.width` replacement: (item, text) to pixels, reading the item's font size and weight. */
export function vegaTextWidth(
  item: { fontSize?: number; fontWeight?: string | number; text?: unknown },
  text?: unknown,
): number {
  const t = text ?? item.text;
  const s = t === null || t === undefined ? "" : Array.isArray(t) ? t.join(" ") : String(t);
  const size = item.fontSize ?? 11;
  const w = item.fontWeight;
  const bold = w === "bold" || w === "bolder" || (typeof w === "number" && w >= 600) ||
    (typeof w === "string" && Number(w) >= 600);
  // 3 % to spare: librsvg kerns and hints a little differently
  return size <= 0 ? 0 : 1.03 * dejaVuTextWidth(s, size, bold);
}
