/**
 * The least-squares similarity transform (rotation, uniform scale, translation; no reflection)
 * that maps one set of 2-D points onto another: Umeyama (1991), the estimate behind
 * scikit-image's `SimilarityTransform.estimate` and insightface's `face_align.estimate_norm`.
 * In two dimensions the model `x' = a x - b y + tx, y' = b x + a y + ty` is linear in
 * (a, b, tx, ty), so the least-squares fit has a closed form: centre both sets, then
 * `a = Σ s·d / Σ |s|²`, `b = Σ s×d / Σ |s|²` (dot and cross products of the centred points).
 *
 * @example
 * ```ts
 * import { applySimilarity, estimateSimilarity } from "./similarity.ts";
 * // a 90° turn and a doubling, then a shift by (3, 4)
 * const src: [number, number][] = [[0, 0], [1, 0], [0, 1]];
 * const dst = src.map(([x, y]) => [-2 * y + 3, 2 * x + 4] as [number, number]);
 * const t = estimateSimilarity(src, dst);
 * const [x, y] = applySimilarity(t, [1, 1]);
 * if (Math.abs(x - 1) > 1e-12 || Math.abs(y - 6) > 1e-12) throw new Error("not recovered");
 * ```
 * @module
 */

/** A 2-D point [x, y]. */
export type Point = [number, number];

/** `x' = a x - b y + tx`, `y' = b x + a y + ty`: scale `hypot(a, b)`, angle `atan2(b, a)`. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * The similarity minimising `Σ w_i |T(src_i) - dst_i|²` (weights default to 1). Throws a `RangeError` for sets of different
 * lengths, fewer than two points, non-finite coordinates, or source points that all coincide.
 */
export function estimateSimilarity(
  src: readonly Point[],
  dst: readonly Point[],
  options: { weights?: readonly number[] } = {},
): Similarity {
  if (src.length !== dst.length) throw new RangeError(`${src.length} source points but ${dst.length} targets`);
  if (src.length < 2) throw new RangeError(`a similarity needs at least 2 point pairs, got ${src.length}`);
  if ([...src, ...dst].some((p) => !Number.isFinite(p[0]) || !Number.isFinite(p[1]))) {
    throw new RangeError("points must be finite numbers");
  }
  const n = src.length;
  const w = options.weights ?? new Array<number>(n).fill(1);
  if (w.length !== n || w.some((v) => !(v >= 0 && Number.isFinite(v))) || !(w.reduce((a, b) => a + b, 0) > 0)) {
    throw new RangeError(`weights must be ${n} finite numbers >= 0, not all 0`);
  }
  const total = w.reduce((a, b) => a + b, 0);
  const mean = (ps: readonly Point[], k: 0 | 1) => ps.reduce((s, p, i) => s + w[i] * p[k], 0) / total;
  const [sx, sy, dx, dy] = [mean(src, 0), mean(src, 1), mean(dst, 0), mean(dst, 1)];
  let norm = 0, dot = 0, cross = 0;
  for (let i = 0; i < n; i++) {
    const [px, py] = [src[i][0] - sx, src[i][1] - sy];
    const [qx, qy] = [dst[i][0] - dx, dst[i][1] - dy];
    norm += w[i] * (px * px + py * py);
    dot += w[i] * (px * qx + py * qy);
    cross += w[i] * (px * qy - py * qx);
  }
  if (!(norm > 0)) throw new RangeError("the source points all coincide; no transform is defined");
  const a = dot / norm, b = cross / norm;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

/** T(p). */
export function applySimilarity(t: Similarity, p: Point): Point {
  return [t.a * p[0] - t.b * p[1] + t.tx, t.b * p[0] + t.a * p[1] + t.ty];
}

/** T⁻¹; throws a `RangeError` for a transform of zero scale. */
export function invertSimilarity(t: Similarity): Similarity {
  const s2 = t.a * t.a + t.b * t.b;
  if (!(s2 > 0)) throw new RangeError("a transform of zero scale has no inverse");
  const a = t.a / s2, b = -t.b / s2;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/** The transform's scale factor, `hypot(a, b)`. */
export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}
