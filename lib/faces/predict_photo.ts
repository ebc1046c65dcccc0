/**
 * `predict --detect` for one photo: find the faces, align each to RAF-DB's 100x100 convention,
 * and run the model on the aligned faces as on a data set's aligned images. One row per face,
 * left to right: the usual prediction row (lib/infer/predict.ts) plus the face's box,
 * landmarks and detection score.
 * @module
 */
import type { AdaDfNet } from "../model/adadf_net.ts";
import { meanCropRows, predictBatch, type PredictionRow } from "../infer/predict.ts";
import { alignFace } from "./align.ts";
import type { DetectedFace, FaceDetector } from "./detector.ts";
import { facesToBatch } from "./faces_batch.ts";
import type { Photo } from "./photo.ts";
import type { Point } from "./similarity.ts";
import { ALIGNED_SIZE } from "./template.ts";

/** One detected face's prediction. */
export interface FaceRow extends PredictionRow {
  /** the photo's path */
  image: string;
  /** the face's index in the photo (left to right) */
  face: number;
  /** [x, y, width, height] in photo pixels */
  box: number[];
  /** five [x, y] points: eyes, nose tip, mouth corners */
  landmarks: Point[];
  /** detection score */
  score: number;
}

/** Options of {@linkcode predictPhoto}. */
export interface PredictPhotoOptions {
  imageSize: number;
  tenCrop?: boolean;
  decodeSize?: number;
  batchSize?: number;
}

/** The faces of one photo, their aligned crops and one row per face (none when no face is found). */
export async function predictPhoto(
  net: AdaDfNet,
  photo: Photo,
  options: PredictPhotoOptions & { detector: FaceDetector },
): Promise<{ faces: DetectedFace[]; crops: Uint8Array[]; rows: FaceRow[] }> {
  const faces = await options.detector.detect(photo);
  const crops = faces.map((f) => alignFace(photo, f.landmarks).pixels);
  if (faces.length === 0) return { faces, crops, rows: [] };
  const x = facesToBatch(crops, ALIGNED_SIZE, options);
  const raw = await predictBatch(net, x, { imageSize: options.imageSize, batchSize: options.batchSize });
  const rows = options.tenCrop ? meanCropRows(raw, 10) : raw;
  const round = (v: number) => Math.round(v * 100) / 100;
  return {
    faces,
    crops,
    rows: rows.map((r, i) => ({
      image: photo.path,
      face: i,
      box: faces[i].box.map(round),
      landmarks: faces[i].landmarks.map(([x, y]) => [round(x), round(y)] as Point),
      score: faces[i].score,
      ...r,
    })),
  };
}
