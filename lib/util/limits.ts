/**
 * The size limits every reader of outside files applies (SECURITY.md): a file, a decoded
 * image or a parsed structure above its limit is refused with one line naming the path,
 * before anything of that size is allocated. Each can be raised (or lowered) through an
 * environment variable of the same name, in bytes or units (`ADADF_MAX_WEIGHTS_BYTES=8e9`).
 *
 * @module
 */

/** The defaults, by environment variable name. */
export const DEFAULT_LIMITS = {
  /** a weights file (`--weights`, `--pretrained`, a run folder's checkpoints): 2 GiB */
  ADADF_MAX_WEIGHTS_BYTES: 2 ** 31,
  /** the pickle (`data.pkl`) of a torch.save file, inflated: 256 MiB */
  ADADF_MAX_PICKLE_BYTES: 2 ** 28,
  /** an `.npy` file (`predict --npy`, features): 2 GiB */
  ADADF_MAX_NPY_BYTES: 2 ** 31,
  /** a JSON file (`--config`, a run folder's JSON): 64 MiB */
  ADADF_MAX_JSON_BYTES: 2 ** 26,
  /** a label file or CSV of a data set (FER2013's CSV is ~300 MB): 1 GiB */
  ADADF_MAX_LABEL_FILE_BYTES: 2 ** 30,
  /** one line of a label file or CSV, in characters (a FER2013 row is ~9 K): 64 Ki */
  ADADF_MAX_LINE_CHARS: 2 ** 16,
  /** one image file of a data set, or given to predict: 64 MiB */
  ADADF_MAX_IMAGE_BYTES: 2 ** 26,
  /** width x height of an image (decoded to 3 bytes a pixel): 50 megapixels */
  ADADF_MAX_IMAGE_PIXELS: 50_000_000,
} as const;

/** The name of a limit. */
export type LimitName = keyof typeof DEFAULT_LIMITS;

/**
 * The limit in force: the environment variable `name` when it is set to a positive number
 * (and the environment may be read), else the default.
 */
export function limit(name: LimitName): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(name);
  } catch {
    raw = undefined; // no --allow-env: the defaults
  }
  if (raw !== undefined && raw.trim() !== "") {
    const v = Number(raw);
    if (Number.isFinite(v) && v > 0) return Math.floor(v);
  }
  return DEFAULT_LIMITS[name];
}

/** A byte count for messages: `2.0 GiB`, `64 MiB`, `812 bytes`. */
export function bytesText(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}
