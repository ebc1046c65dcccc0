import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { clampCrop, decodeFace, ImageDecodeError, resizeBilinear } from "../../lib/data/images.ts";
import { put, solidImage } from "./readers/_make.ts";

Deno.test("decodeFace() decodes RGB JPEG, grey JPEG, grey PNG and RGBA PNG to [S, S, 3]", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files: [string, Uint8Array, number[]][] = [
      ["rgb.jpg", await solidImage([200, 40, 90]), [200, 40, 90]],
      ["grey.jpg", await solidImage([90, 90, 90], { grey: true }), [90, 90, 90]],
      ["grey.png", await solidImage([150, 150, 150], { grey: true, format: "png" }), [150, 150, 150]],
      [
        "rgba.png",
        new Uint8Array(
          await sharp({
            create: { width: 10, height: 30, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } },
          })
            .png().toBuffer(),
        ),
        [10, 200, 30],
      ],
    ];
    for (const [name, bytes, rgb] of files) {
      await put(join(dir, name), bytes);
      const face = await decodeFace({ kind: "file", path: join(dir, name) }, 24);
      assert.equal(face.length, 24 * 24 * 3, name);
      for (const i of [0, 24 * 24 * 3 - 3, 300 * 3]) {
        for (let ch = 0; ch < 3; ch++) {
          assert.ok(Math.abs(face[i + ch] - rgb[ch]) <= 3, `${name} px ${i} ch ${ch}: ${face[i + ch]}`);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeFace() crops the face box before resizing, and resizes to a square ignoring aspect", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 60 x 20 black image with a 20 x 10 green box at (30, 5)
    const box = await sharp({ create: { width: 20, height: 10, channels: 3, background: { r: 0, g: 255, b: 0 } } })
      .png().toBuffer();
    const img = await sharp({ create: { width: 60, height: 20, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite([{ input: box, left: 30, top: 5 }]).png().toBuffer();
    await put(join(dir, "a.png"), new Uint8Array(img));
    const face = await decodeFace({ kind: "file", path: join(dir, "a.png"), crop: { x: 30, y: 5, w: 20, h: 10 } }, 16);
    for (let i = 0; i < face.length; i += 3) assert.deepEqual([face[i], face[i + 1], face[i + 2]], [0, 255, 0]);
    // without the crop: the whole 60x20 squeezed into 16x16, left third black
    const whole = await decodeFace({ kind: "file", path: join(dir, "a.png") }, 16);
    assert.deepEqual([...whole.subarray(0, 3)], [0, 0, 0]);
    assert.equal(whole[(8 * 16 + 10) * 3 + 1], 255);
    await assert.rejects(
      decodeFace({ kind: "file", path: join(dir, "a.png"), crop: { x: 100, y: 100, w: 5, h: 5 } }, 16),
      (e: Error) => e instanceof ImageDecodeError && /lies outside the 60x20 image/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeFace() throws ImageDecodeError for missing, empty, truncated and corrupt files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const jpeg = await solidImage([1, 2, 3], { width: 64, height: 64 });
    await put(join(dir, "trunc.jpg"), jpeg.subarray(0, jpeg.length - 10));
    await put(join(dir, "half.jpg"), jpeg.subarray(0, jpeg.length >> 1));
    await put(join(dir, "junk.jpg"), new TextEncoder().encode("this is not an image"));
    await put(join(dir, "empty.jpg"), new Uint8Array(0));
    const png = await solidImage([1, 2, 3], { width: 64, height: 64, format: "png" });
    await put(join(dir, "trunc.png"), png.subarray(0, png.length - 30));
    const cases: [string, RegExp][] = [
      ["missing.jpg", /missing\.jpg: listed but missing/],
      ["empty.jpg", /empty\.jpg: empty file/],
      ["trunc.jpg", /trunc\.jpg: corrupt, truncated or not an image \(.*premature end/i],
      ["half.jpg", /half\.jpg: corrupt, truncated/],
      ["junk.jpg", /junk\.jpg: corrupt, truncated or not an image/],
      ["trunc.png", /trunc\.png: corrupt, truncated/],
    ];
    for (const [name, re] of cases) {
      await assert.rejects(
        decodeFace({ kind: "file", path: join(dir, name) }, 16),
        (e: Error) => e instanceof ImageDecodeError && e.path === join(dir, name) && re.test(e.message),
        name,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeFace() decodes a JPEG with extraneous bytes before a marker, as PIL does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const jpeg = await solidImage([9, 99, 199], { width: 32, height: 32 });
    let sos = 2;
    while (!(jpeg[sos] === 0xff && jpeg[sos + 1] === 0xda)) sos++;
    const odd = new Uint8Array(jpeg.length + 3);
    odd.set(jpeg.subarray(0, sos));
    odd.set([0x00, 0x11, 0x22], sos); // libjpeg: "Corrupt JPEG data: 3 extraneous bytes before marker 0xda"
    odd.set(jpeg.subarray(sos), sos + 3);
    await put(join(dir, "odd.jpg"), odd);
    const face = await decodeFace({ kind: "file", path: join(dir, "odd.jpg") }, 8);
    assert.ok(Math.abs(face[0] - 9) <= 3 && Math.abs(face[1] - 99) <= 3 && Math.abs(face[2] - 199) <= 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeFace() turns 48x48 grey pixels into RGB and checks their length", async () => {
  const px = new Uint8Array(48 * 48).fill(77);
  const face = await decodeFace({ kind: "pixels", pixels: px, width: 48, height: 48, channels: 1 }, 48);
  assert.ok(face.every((v) => v === 77));
  // the same size takes a shortcut; it must agree with sharp's path (a resize to another size and back is not exact)
  const ramp = Uint8Array.from({ length: 48 * 48 }, (_, i) => i % 256);
  const same = await decodeFace({ kind: "pixels", pixels: ramp, width: 48, height: 48, channels: 1 }, 48);
  for (let i = 0; i < 48 * 48; i++) {
    assert.deepEqual([same[3 * i], same[3 * i + 1], same[3 * i + 2]], [ramp[i], ramp[i], ramp[i]]);
  }
  const up = await decodeFace({ kind: "pixels", pixels: ramp, width: 48, height: 48, channels: 1 }, 96);
  assert.equal(up.length, 96 * 96 * 3);
  assert.ok(up[0] === up[1] && up[1] === up[2]);
  await assert.rejects(
    decodeFace({ kind: "pixels", pixels: px.subarray(1), width: 48, height: 48, channels: 1 }, 48),
    ImageDecodeError,
  );
});

Deno.test("clampCrop() clamps a face box to the image and refuses one outside it", () => {
  assert.deepEqual(clampCrop({ x: -5, y: 2, w: 20, h: 50 }, 10, 30), { left: 0, top: 2, width: 10, height: 28 });
  assert.equal(clampCrop({ x: 10, y: 0, w: 5, h: 5 }, 10, 10), null);
});

/**
 * PIL 9.4's `Image.fromarray(a).resize((s, s), Image.BILINEAR)` of a 13 x 9 RGB image with
 * a[y, x, c] = (37x + 91y + 53c + 20 * ((x * y) % 7)) % 256, base64 of the [s, s, 3] bytes
 * (computed once with Debian's python3-pil; the same resize torchvision's Resize((s, s)) does).
 */
const PIL_GOLDEN: Record<number, string> = {
  20:
    "ADVqEkd8Kl+UQnesWo/Ecqfcir/0otesuukk0lo8lx9UCDdsGk+EMmecSn+0YpfMeq+rksccqt8UvPEmEEV6I1iNPm2iWGqfX3uwYJXKeq/klMmvr99EyW9Clz1UF0d7LGF6Rm+EYWyeYYO4aZ6jg7g0ndI0seZHOW6jUYa7cZLHkUp/bUZ7MWabUYa7caa3kcSYsqZQlotTP3KjW5Bhe4RFmzxlYFCFPHGQXJFyfLGGk8idYpe5dKnUkKjdtjRpdyVRFUptNGmZV4y6fbHOo8tbnMRTZ5u4frNNnJAawhxAYDFbH1R6PnOmY5jDf7TWi8Bua6CPUHarfFOIdGRfVYpCUYaWaJ2glMZ1wJpSv5lQkMFxZJlQXXFOiU56b3FYV4xZU4isdquZlst5tOkkYpdJEUV6QnKncaJtlMkXbaKTeq+GrNsc3WpJ4m5OuecpSn9TH1KCUH+0frBWj8Q3aJ2ziL1vreIdcKVHU4hvPWSZdVWKk4pSms8XVot6bXl3wIctsV9kmGlvdKVLTIF/TWSZhFWKmaBCjcIxSn+Ug39nxIwuJltwQ3idcIm+rTVqt2sznNEZPHFfXT5n1C5EgVaBR2eRKl50UIWugXitvyRZtYstiL0sKV5zfj1h2zBFL2SZYG2inXSew2BUsYM+fbJHM2htV0xhxlI2e3iSSn+0M2idcnOoqVuQzxFGqHBCb6RTJVp5dU9ZzFQ2WI3CjWSZyElly6dCmq5ZUoeHMGWKVXVfqqcbh6mebaLXXJHGoVqPzCtgzwg9i1NnToOLK2CObINQr6oZgLWxn3WMvkVisrtWgLV4QnOoS1aLcGxWqKMXnJeMkJ7BhLi1q2SEvy1isiFWclOISHClUFOIgHxJq6cVqd5nlaJ9fmqVeJqPYpecTXWqhDxxqTFHv0cruUFbs3Nwrd5qkpOHgGGWeVuQXW+kXWuglDJnsTlDwksssuc8ir9vXo+oXnqoXXKnZmqftShdywxBtgtAtgtAtlNAteU/gbaDYY2rYHiqYHWqfF6TyxxRyQ5DuQ5DaJ1le7BmkbRollptnD5zpj900iVasR1SWiJXYChdZlFja55ohLlplaFsm0dyoEJ3szxx3yJXnyFWXSVaJFmObqNewNYqzEA21xBB4hdM6SNYlS5jBDluEEV6HFGGJ1yRh7xRxrYw0iA83RVH5x1S7iledjRpBzxxTYK3fbJttdkfxpMw11JB3x1SoS5jX0B1HFGGLWKXP3SpUIW6j8RZvMsmzYU33kdI1CRZljVqUkZ7HlOIdqvgjMF8qdwTwOYq15RB3CNYWTpvKFGGM2idSn+0YZbLeK3ilstgseAbyOsy33lJwStgPkJ3LVmONWqfn3Sph4pycaY7jsNYq5x1vF2LcXpqYnNsfFSJW3GmZ32yoHesgpNke7BFmM1itY5/rmeGYoNka251gVaLyCpffUNjMWZuVImRdpi0lqHHm8RgsphJ0DZraVmOZleMyC5jaU9oPHF6X5Scgp2/m62yoM9MvYRU1zht2A1CeShdGE2CPXKnYpfMh7zerOFd0aY78Ctgb1CFZkh91xJHXzRpJFmOSX6zbqPYk8jDuO1C3YxH+C1i",
  13:
    "ADVqJVqPSn+0b6TZlMn+ue4j3hNIAzhtKF2STYK3cqfcl8wBvPEmMWabYZbLkTxxNmugZpvQlsuKxoUwNGmeZJlElD90OW6jaZ5dmc6NcKWfc6jdsCBVKV5YRnuwhLmzwbsrc6iidqsbsyNYLGFbSX6zh7y2r+QtDkN4WnuwkcYPXJHGp9wl8ztdsucwEUZnXX6zlMkSX5TJqt8oUIVYR3yxoThtpNkOKl+UymI0hlmOU4hbSn+0pDtwp9wRLWKXzWU3LWKXlHqv0FQ6iL1AE0h9yk40VYq/MGWal32y0wg9i8BDFkuAzVE3bKHW4RZLyv80P3SpKF2SndIHhrvwb6TZ5BlOzQI3QnesK2CVoNUKq+BkfWOYc6iPR3yxniJXwEQqtztwruNngGabdl2SSn+0oSVaw0ctiL1Ue7CCf1KHhFeM3xRJgRlOhh1Si8BXfrOFglWKh1qP4hdMhBxRKV6TvfInzxg54hdM4SleBzxxGU6DLGGWwPUq0hs85RpP5CxhCj90aJ3Sqd4TycMz6R5TRT90Kl+US4C1a6DVrOEWzMY27CFWSEJ3LWKXp2abX5Q/jcJtvGecYJVUjk2CRnuwqmmeYpdCkMVwv2qfY5hXkVCF2A1CEUZ7Sn+0g7jtvPEm9SpfLmOY2xBFFEl+TYK3hrvwv/Qp+C1i",
  5: "U2+daYqjjYtpX3B5dqR1Z35+dodkkINocn1peY5skYKBdXZqinyFklt8eGRijpllpDxiaVxwnoJlmzNlgoRsk4F3cWqJio50knp1",
  9: "DUJ3PnOoc6jdqN2KrURIFEl+SX6zfrOFr+QZb6TZrFOIMkF2XZLHlstiea5qpD80KlGGZ5zRd6w7NmuSgrdSh7xp3XRHZZpHS4CPg7hfk8hXM2idq1J4h5UxeidcVVmOQnest1NhcJY9liValXCly51DToOSZptIhru/pmOYvhlOQWidd6w7ndJhToO4bWKX0QY7zTM3ksd0UIW6glSJ1Ak+WY5pymM04xhNczBlFEl+b6Rg0UY76h9UWjVqir+au+ElsEtaJVqPW5DFkcaDxtUwmD9lLGGWkiFWN2yhib6z2ohEdUh9fStgR3yxmc6f5HNO",
};

Deno.test("resizeBilinear() matches PIL's bilinear resize byte for byte (up, down, one axis)", () => {
  const W = 13, H = 9;
  const img = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) img[(y * W + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + ((x * y) % 7) * 20) % 256;
    }
  }
  for (const [s, b64] of Object.entries(PIL_GOLDEN)) {
    const want = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const got = resizeBilinear(img, { width: W, height: H, size: Number(s) });
    const diff = [...got].findIndex((v, i) => v !== want[i]);
    assert.equal(diff, -1, `size ${s}: first difference at byte ${diff}: ${got[diff]} vs PIL ${want[diff]}`);
  }
  const same = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => i);
  assert.equal(resizeBilinear(same, { width: 4, height: 4, size: 4 }), same);
  assert.throws(() => resizeBilinear(same, { width: 5, height: 4, size: 4 }), /not a 5x4 RGB image/);
});
