/**
 * Tiny copies of every supported data set layout, written with real file names and encodings
 * (JPEG/PNG files made by sharp, .npy annotations, CSVs), for the reader and loader tests.
 * Each class gets its own colour, so a test can check that a decoded face carries its label.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { CLASSES } from "../../../lib/data/classes.ts";

/** A distinct RGB colour per class index (0..7), far apart so JPEG noise cannot confuse them. */
export const CLASS_COLOURS: readonly [number, number, number][] = [
  [230, 30, 30],
  [30, 230, 30],
  [30, 30, 230],
  [230, 230, 30],
  [230, 30, 230],
  [30, 230, 230],
  [128, 128, 128],
  [250, 160, 60],
];

/** The grey level standing for a class in grey images (FER2013, grey JPEGs). */
export function classGrey(c: number): number {
  return 20 + 30 * c;
}

/** A solid-colour image file's bytes; `grey` writes a one-channel image. */
export async function solidImage(
  rgb: readonly [number, number, number],
  opts: { width?: number; height?: number; format?: "jpeg" | "png"; grey?: boolean } = {},
): Promise<Uint8Array> {
  const { width = 16, height = 16, format = "jpeg", grey = false } = opts;
  let img = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  if (grey) img = img.toColourspace("b-w");
  return new Uint8Array(await (format === "jpeg" ? img.jpeg({ quality: 95 }) : img.png()).toBuffer());
}

/** Writes a file, creating its folder. */
export async function put(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

/** A .npy file (v1.0) with the given dtype, shape text and raw data bytes. */
export function npyBytes(descr: string, shape: string, data: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** `np.save(f, np.array('3'))`: a '<U1' unicode scalar (UTF-32LE). */
export function npyUnicodeScalar(text: string): Uint8Array {
  const data = new Uint8Array(4 * text.length);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < text.length; i++) dv.setUint32(4 * i, text.codePointAt(i)!, true);
  return npyBytes(`<U${text.length}`, "()", data);
}

/** `np.save(f, np.int64(3))`: an '<i8' scalar. */
export function npyInt64Scalar(value: number): Uint8Array {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigInt64(0, BigInt(value), true);
  return npyBytes("<i8", "()", data);
}

/**
 * RAF-DB: `per` train and 1 test image per class, `EmoLabel/list_patition_label.txt` and
 * `Image/aligned/<stem>_aligned.jpg`. Train images of class 3 are grey JPEGs. Returns the
 * label file lines.
 */
export async function makeRafDb(root: string, per = 2): Promise<string[]> {
  const lines: string[] = [];
  let t = 0, s = 0;
  for (let c = 0; c < 7; c++) {
    for (let k = 0; k < per + 1; k++) {
      const train = k < per;
      const name = train ? `train_${String(++t).padStart(5, "0")}.jpg` : `test_${String(++s).padStart(4, "0")}.jpg`;
      lines.push(`${name} ${c + 1}`);
      const grey = train && c === 3;
      const colour = grey ? [classGrey(c), classGrey(c), classGrey(c)] as const : CLASS_COLOURS[c];
      await put(
        join(root, "Image", "aligned", name.replace(".jpg", "_aligned.jpg")),
        await solidImage(colour, { grey }),
      );
    }
  }
  await put(join(root, "EmoLabel", "list_patition_label.txt"), lines.join("\n") + "\n");
  return lines;
}

/** AffectNet ids 0..7 in `CLASSES` order of the colours used: id -> class index. */
const AFF_TO_CLASS = [6, 3, 4, 0, 1, 2, 5, 7];

/**
 * AffectNet in the official code's npy layout: train_set has 2 images of each id 0..7 plus one
 * id 9 (uncertain); val_set 1 of each id 0..7. Even annotations are '<U1' strings, odd ones
 * '<i8' integers. Images are coloured by the class they map to.
 */
export async function makeAffectNetNpy(root: string): Promise<void> {
  let n = 0;
  for (const [set, per] of [["train_set", 2], ["val_set", 1]] as const) {
    const ids = [
      ...Array.from({ length: 8 * per }, (_, i) => Math.floor(i / per)),
      ...(set === "train_set" ? [9] : []),
    ];
    for (const id of ids) {
      const name = String(n++);
      const ann = n % 2 === 0 ? npyUnicodeScalar(String(id)) : npyInt64Scalar(id);
      await put(join(root, set, "annotations", `${name}_exp.npy`), ann);
      await put(join(root, set, "annotations", `${name}_val.npy`), npyUnicodeScalar("0"));
      const colour = id < 8 ? CLASS_COLOURS[AFF_TO_CLASS[id]] : [0, 0, 0] as const;
      await put(join(root, set, "images", `${name}.jpg`), await solidImage(colour));
    }
  }
}

/**
 * AffectNet's original release: `Manually_Annotated_file_lists/training.csv` (with header) and
 * `validation.csv` (without), images under `Manually_Annotated_Images/<dir>/<hash>.jpg`: a
 * 40x30 black picture with the face box (x 8, y 4, 20 x 16) in the class colour.
 */
export async function makeAffectNetCsv(root: string): Promise<void> {
  const header =
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal";
  let n = 0;
  for (const [file, per, withHeader] of [["training.csv", 2, true], ["validation.csv", 1, false]] as const) {
    const rows: string[] = withHeader ? [header] : [];
    const ids = [...Array.from({ length: 8 * per }, (_, i) => Math.floor(i / per)), ...(per === 2 ? [8, 10] : [])];
    for (const id of ids) {
      const rel = `${100 + (n % 3)}/${(n++).toString(16).padStart(8, "0")}abc.jpg`;
      rows.push(`${rel},8,4,20,16,1.5;2.5;3.5,${id},0.1,-0.2`);
      const colour = id < 8 ? CLASS_COLOURS[AFF_TO_CLASS[id]] : [255, 255, 255] as const;
      const face = await sharp({
        create: { width: 20, height: 16, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } },
      })
        .png().toBuffer();
      const img = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 0, g: 0, b: 0 } } })
        .composite([{ input: face, left: 8, top: 4 }]).png({ compressionLevel: 0 }).toBuffer();
      // JPEG of the composite at high quality: the box edges blur a little, its centre keeps the colour
      await put(
        join(root, "Manually_Annotated_Images", rel),
        new Uint8Array(await sharp(img).jpeg({ quality: 100 }).toBuffer()),
      );
    }
    await put(join(root, "Manually_Annotated_file_lists", file), rows.join("\r\n") + "\r\n");
  }
}

/** SFEW's class folder names. */
export const SFEW_NAMES = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"];

/** An ImageFolder tree under `dir`: `per` PNG images per class folder (names as given). */
export async function makeClassFolders(dir: string, names: readonly string[], per: number): Promise<void> {
  const { classOfFolderName } = await import("../../../lib/data/readers/folder.ts");
  for (const name of names) {
    const c = classOfFolderName(name)!;
    for (let k = 0; k < per; k++) {
      await put(
        join(dir, name, `${name.toLowerCase()}_${k}.png`),
        await solidImage(CLASS_COLOURS[c], { format: "png", width: 20, height: 24 }),
      );
    }
  }
}

/** SFEW: Train/ (2 per class) and Val/ (1 per class). */
export async function makeSfew(root: string): Promise<void> {
  await makeClassFolders(join(root, "Train"), SFEW_NAMES, 2);
  await makeClassFolders(join(root, "Val"), SFEW_NAMES, 1);
}

/** FER2013 ids 0..6 -> class index. */
export const FER_TO_CLASS = [5, 2, 1, 3, 4, 0, 6];

/**
 * fer2013.csv: for each usage (Training x2, PublicTest x1, PrivateTest x1) one row per id
 * 0..6, the face a flat grey of `classGrey(class)`. Returns the rows' ids in file order.
 */
export async function makeFer2013(root: string): Promise<{ usage: string; emotion: number }[]> {
  const rows: { usage: string; emotion: number }[] = [];
  const lines = ["emotion,pixels,Usage"];
  for (const [usage, per] of [["Training", 2], ["PublicTest", 1], ["PrivateTest", 1]] as const) {
    for (let k = 0; k < per; k++) {
      for (let e = 0; e < 7; e++) {
        rows.push({ usage, emotion: e });
        lines.push(`${e},${new Array(48 * 48).fill(classGrey(FER_TO_CLASS[e])).join(" ")},${usage}`);
      }
    }
  }
  await put(join(root, "fer2013.csv"), lines.join("\n") + "\n");
  return rows;
}

/** fer2013new.csv for the rows of {@linkcode makeFer2013}, with the votes `votesOf(row)`. */
export async function makeFerPlus(
  root: string,
  rows: readonly { usage: string; emotion: number }[],
  votesOf: (row: number) => { name?: string; votes: number[] },
): Promise<void> {
  const lines = ["Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"];
  rows.forEach((r, i) => {
    const v = votesOf(i);
    lines.push(`${r.usage},${v.name ?? `fer${String(i).padStart(7, "0")}.png`},${v.votes.join(",")}`);
  });
  await put(join(root, "fer2013new.csv"), lines.join("\n") + "\n");
}

/** The class whose colour is nearest to the mean colour of the centre of a face [S, S, 3]. */
export function nearestClass(face: Uint8Array, size: number, colours = CLASS_COLOURS): number {
  const m = [0, 0, 0];
  let n = 0;
  for (let y = Math.floor(size / 4); y < Math.ceil((3 * size) / 4); y++) {
    for (let x = Math.floor(size / 4); x < Math.ceil((3 * size) / 4); x++) {
      for (let ch = 0; ch < 3; ch++) m[ch] += face[(y * size + x) * 3 + ch];
      n++;
    }
  }
  let best = -1, bestD = Infinity;
  colours.forEach((c, i) => {
    const d = c.reduce((s, v, ch) => s + (v - m[ch] / n) ** 2, 0);
    if (d < bestD) [best, bestD] = [i, d];
  });
  return best;
}

/** Names of the 7 classes, re-exported for messages. */
export { CLASSES };
