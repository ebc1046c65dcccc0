/**
 * Where the five landmarks go in an aligned face: the template of RAF-DB-style 100x100 crops.
 *
 * RAF-DB's `Image/aligned` faces were made by a similarity transform on five manually placed
 * landmarks (the data set's README), but the target positions were never published. We use the
 * five-point template of ArcFace / insightface (`arcface_dst` in insightface's
 * `python-package/insightface/utils/face_align.py`, defined for 112x112 crops; the same points,
 * shifted by 8 px, are SphereFace's and CosFace's 96x112 template), scaled by 100/112. It puts the
 * eyes 46 % down the crop and 31.5 px apart and the mouth at 82 %: the face upright, centred and
 * filling the square from brows to chin, as RAF-DB's aligned faces look. It is an approximation
 * of RAF-DB's convention, not its exact recipe; a data set aligned here matches RAF-DB's crops in
 * framing, not to the pixel. Pass your own `template` to `alignFace` for another convention.
 *
 * Coordinates are continuous (pixel `i` covers [i, i + 1), its centre is i + 0.5): insightface's
 * points are OpenCV pixel indices, so each is converted as `(p + 0.5) * 100 / 112`.
 *
 * @module
 */
import type { Point } from "./similarity.ts";

/** insightface's `arcface_dst` for 112x112 crops, OpenCV pixel indices: eyes, nose tip, mouth corners. */
export const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** The side of an aligned face, as RAF-DB ships them. */
export const ALIGNED_SIZE = 100;

/**
 * The five target points of a 100x100 aligned face (continuous coordinates): left eye centre,
 * right eye centre (as seen in the image), nose tip, left and right mouth corners.
 */
export const RAF_DB_TEMPLATE: readonly Point[] = ARCFACE_112.map(
  ([x, y]) => [(x + 0.5) * ALIGNED_SIZE / 112, (y + 0.5) * ALIGNED_SIZE / 112] as Point,
);

/** The template for a `size` x `size` crop: `RAF_DB_TEMPLATE` scaled by size / 100. */
export function templateForSize(size: number, template: readonly Point[] = RAF_DB_TEMPLATE): Point[] {
  return template.map(([x, y]) => [x * size / ALIGNED_SIZE, y * size / ALIGNED_SIZE]);
}
