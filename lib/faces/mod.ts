/**
 * Faces in ordinary photos: detection and landmarks (`@vladmandic/face-api`, models from
 * node_modules), alignment onto RAF-DB's 100x100 convention by a five-point (eye-anchored) least-squares
 * similarity, prediction per face, the annotated photo, and whole folders or data sets aligned.
 * README.md here compares the candidate packages and documents the template.
 *
 * @example Align a face whose landmarks are known (no detector needed)
 * ```ts
 * import { alignFace, RAF_DB_TEMPLATE } from "./mod.ts";
 * const photo = { data: new Uint8Array(300 * 300 * 3).fill(128), width: 300, height: 300 };
 * // the template tripled and shifted by (20, 10): the face is 3x the crop's scale
 * const landmarks = RAF_DB_TEMPLATE.map(([x, y]) => [3 * x + 20, 3 * y + 10] as [number, number]);
 * const face = alignFace(photo, landmarks);
 * if (face.size !== 100 || Math.abs(face.transform.a - 1 / 3) > 1e-12) throw new Error("scale 1/3");
 * ```
 * @module
 */
export { type AlignedFace, alignFace, type AlignOptions, EYE_ANCHORED_WEIGHTS, type RgbImage } from "./align.ts";
export {
  ALIGN_DATASETS,
  type AlignDataset,
  type AlignItem,
  alignPhotos,
  type AlignPhotosOptions,
  type AlignReport,
  planDataset,
  planPhotos,
} from "./align_files.ts";
export { ANNOTATE_MAX_SIDE, type AnnotatedFace, annotatePhoto } from "./annotate.ts";
export { benchFaces, type FacesBenchResult } from "./bench.ts";
export {
  DEFAULT_MIN_SCORE,
  type DetectedFace,
  faceApiDir,
  type FaceDetector,
  type FaceDetectorOptions,
  loadFaceDetector,
  samplePhotos,
} from "./detector.ts";
export { type FacesBatchOptions, facesToBatch } from "./faces_batch.ts";
export { type FaceDistributions, faceDistributionsFigure, facesStripPng } from "./figure.ts";
export { decodePhoto, DETECT_MAX_SIDE, type Photo } from "./photo.ts";
export { type FaceRow, predictPhoto, type PredictPhotoOptions } from "./predict_photo.ts";
export {
  applySimilarity,
  estimateSimilarity,
  invertSimilarity,
  type Point,
  type Similarity,
  similarityScale,
} from "./similarity.ts";
export { ALIGNED_SIZE, ARCFACE_112, RAF_DB_TEMPLATE, templateForSize } from "./template.ts";
