/**
 * Face detection and landmarks with `@vladmandic/face-api` (MIT; README.md here compares it
 * with `@vladmandic/human`): SSD MobileNet v1 finds the faces, the 68-point landmark net marks
 * them, and the five alignment points are taken from the 68 (eye centres as the mean of each
 * eye's six contour points, nose tip 30, mouth corners 48 and 54, iBUG 300-W numbering). The
 * models are read from the package in `node_modules`; nothing is fetched at run time.
 *
 * The package's `dist/face-api.node-wasm.js` build takes `@tensorflow/tfjs` from the import map
 * (the toolkit's own instance, 4.22.0) and runs on whichever backend the caller set with
 * `initBackend` (lib/backend/); it never sets one itself.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { CLASSES } from "../data/classes.ts";
import type { Point } from "./similarity.ts";
import type { Photo } from "./photo.ts";

/** One face found in a photo; coordinates are photo pixels. */
export interface DetectedFace {
  /** [x, y, width, height] */
  box: [number, number, number, number];
  /** left eye, right eye (as seen), nose tip, left and right mouth corners */
  landmarks: Point[];
  /** all 68 points (iBUG 300-W order) */
  landmarks68: Point[];
  /** the detector's confidence in [0, 1] */
  score: number;
  /**
   * face-api's own expression estimate (another model: a small CNN trained by face-api's authors
   * on its own data), in `CLASSES` order; present when the detector was loaded with expressions
   */
  otherModelExpression?: number[];
}

/** Options of {@linkcode loadFaceDetector}. */
export interface FaceDetectorOptions {
  /** the lowest detection score kept (default 0.5, face-api's default) */
  minScore?: number;
  /** also run face-api's expression net (default false) */
  expressions?: boolean;
}

/** Default `minScore`. */
export const DEFAULT_MIN_SCORE = 0.5;

/** face-api's expression labels -> the `CLASSES` index they stand for. */
const FACE_API_EXPRESSIONS: Record<string, number> = {
  surprised: 0,
  fearful: 1,
  disgusted: 2,
  happy: 3,
  sad: 4,
  angry: 5,
  neutral: 6,
};

/** The `@vladmandic/face-api` package folder in `node_modules` (models in `model/`, sample photos in `demo/`). */
export function faceApiDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("@vladmandic/face-api/package.json"));
}

/** The six multi-person sample photos (1920 px wide JPEGs) that ship in face-api's npm package. */
export function samplePhotos(): string[] {
  const dir = join(faceApiDir(), "demo");
  return [1, 2, 3, 4, 5, 6].map((i) => join(dir, `sample${i}.jpg`));
}

// deno-lint-ignore no-explicit-any
type FaceApi = any;
let faceApi: Promise<FaceApi> | undefined;
const loaded = new Set<string>();

async function loadNet(api: FaceApi, name: string): Promise<void> {
  if (loaded.has(name)) return;
  await api.nets[name].loadFromDisk(join(faceApiDir(), "model"));
  loaded.add(name);
}

/** A loaded detector; models are loaded once per process and shared. */
export interface FaceDetector {
  /** Finds the faces of a decoded photo (on its shrunk copy), sorted left to right. */
  detect(photo: Photo): Promise<DetectedFace[]>;
}

/** Loads face-api and its models from `node_modules` (once), on the current TF.js backend. */
export async function loadFaceDetector(options: FaceDetectorOptions = {}): Promise<FaceDetector> {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  if (!(minScore >= 0 && minScore <= 1)) throw new RangeError(`minScore must be in [0, 1], got ${minScore}`);
  faceApi ??= import("@vladmandic/face-api/dist/face-api.node-wasm.js").then((m) => m.default ?? m);
  const api = await faceApi;
  if (api.tf?.engine?.() !== tf.engine()) {
    throw new Error("face-api did not load the toolkit's @tensorflow/tfjs instance; check deno.json's import map");
  }
  await loadNet(api, "ssdMobilenetv1");
  await loadNet(api, "faceLandmark68Net");
  if (options.expressions) await loadNet(api, "faceExpressionNet");
  const detectOptions = new api.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 100 });
  return {
    async detect(photo: Photo): Promise<DetectedFace[]> {
      const d = photo.detect;
      const sx = photo.width / d.width, sy = photo.height / d.height; // back to photo pixels
      const input = tf.tensor3d(d.data, [d.height, d.width, 3], "int32");
      try {
        let task = api.detectAllFaces(input, detectOptions).withFaceLandmarks();
        if (options.expressions) task = task.withFaceExpressions();
        // deno-lint-ignore no-explicit-any
        const found: any[] = await task;
        const faces = found.map((f): DetectedFace => {
          const b = f.detection.box;
          // deno-lint-ignore no-explicit-any
          const pts: Point[] = f.landmarks.positions.map((p: any) => [p.x * sx, p.y * sy]);
          const mean = (from: number, to: number): Point => {
            const ps = pts.slice(from, to);
            return [ps.reduce((s, p) => s + p[0], 0) / ps.length, ps.reduce((s, p) => s + p[1], 0) / ps.length];
          };
          const face: DetectedFace = {
            box: [b.x * sx, b.y * sy, b.width * sx, b.height * sy],
            landmarks: [mean(36, 42), mean(42, 48), pts[30], pts[48], pts[54]],
            landmarks68: pts,
            score: f.detection.score,
          };
          if (f.expressions) {
            const e = new Array<number>(CLASSES.length).fill(0);
            for (const [name, p] of Object.entries(f.expressions)) {
              if (name in FACE_API_EXPRESSIONS) e[FACE_API_EXPRESSIONS[name]] = p as number;
            }
            face.otherModelExpression = e;
          }
          return face;
        });
        return faces.sort((a, b) => a.box[0] - b.box[0]);
      } finally {
        input.dispose();
      }
    },
  };
}
