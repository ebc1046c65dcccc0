/**
 * Data augmentation as the official Ada-DF code does it: timm's RandAugment
 * (`rand-m5-n3-mstd0.5`; SFEW `rand-m3-n5-mstd0.5` per crop), horizontal flip,
 * ImageNet normalisation, random erasing (area 0.02-0.25), and torchvision's TenCrop for
 * SFEW. All on uint8 RGB HWC arrays, seeded through `Prng`, each switchable.
 *
 * @example
 * ```ts
 * import { randAugment, RAND_AUGMENT_OPS } from "./mod.ts";
 * import { Prng } from "../../util/prng.ts";
 * const img = new Uint8Array(8 * 8 * 3).map((_, i) => (i * 37) % 256); // [8, 8, 3]
 * const a = randAugment(img, 8, { prng: new Prng(1) });
 * const b = randAugment(img, 8, { prng: new Prng(1) });
 * if (RAND_AUGMENT_OPS.length !== 15 || a.join() !== b.join()) throw new Error("not reproducible");
 * ```
 */
export * from "./ops.ts";
export * from "./randaugment.ts";
export * from "./tencrop.ts";
export * from "./prepare.ts";
