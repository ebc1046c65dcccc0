/**
 * Detection + alignment speed, for `deno task bench`: photos per second on face-api's
 * 1920x1280 sample photo (decode once, shrink to 1024 for the detector, SSD MobileNet + 68
 * landmarks, every face aligned to 100x100), after one warm-up photo.
 * @module
 */
import { alignFace } from "./align.ts";
import { loadFaceDetector, samplePhotos } from "./detector.ts";
import { decodePhoto } from "./photo.ts";

/** One measurement. */
export interface FacesBenchResult {
  kind: "detect+align";
  width: number;
  height: number;
  faces: number;
  /** median seconds of decode + detect + align of one photo */
  secondsPerPhoto: number;
  photosPerSecond: number;
  /** median of detection alone */
  detectSeconds: number;
}

/** Times `repeats` (default 3) runs on the 1920x1280 sample photo; the median is reported. */
export async function benchFaces(options: { repeats?: number; photo?: string } = {}): Promise<FacesBenchResult> {
  const path = options.photo ?? samplePhotos()[0]; // 1920x1280, three people
  const detector = await loadFaceDetector();
  const run = async () => {
    const t0 = performance.now();
    const photo = await decodePhoto(path);
    const t1 = performance.now();
    const faces = await detector.detect(photo);
    const t2 = performance.now();
    for (const f of faces) alignFace(photo, f.landmarks);
    return { total: (performance.now() - t0) / 1000, detect: (t2 - t1) / 1000, faces: faces.length, photo };
  };
  await run(); // warm-up: kernels compiled, weights uploaded
  const runs = [];
  for (let i = 0; i < (options.repeats ?? 3); i++) runs.push(await run());
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const total = median(runs.map((r) => r.total));
  return {
    kind: "detect+align",
    width: runs[0].photo.width,
    height: runs[0].photo.height,
    faces: runs[0].faces,
    secondsPerPhoto: total,
    photosPerSecond: 1 / total,
    detectSeconds: median(runs.map((r) => r.detect)),
  };
}
