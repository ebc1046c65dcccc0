#!/usr/bin/python3
"""Golden fixtures for the RandAugment ops (lib/data/augment/ops.ts), made with PIL.

Applies each of timm's 15 RandAugment ops, as timm's auto_augment.py calls PIL, to a
fixed 24x24 RGB test pattern at fixed magnitudes (and signs, and resample filters for
the geometric ops) and writes:
  tests/fixtures/augment/input.bin    the test image, uint8 [24, 24, 3]
  tests/fixtures/augment/outputs.bin  every output, uint8 [K, 24, 24, 3]
  tests/fixtures/augment/cases.json   the K cases: op, magnitude, negate, interpolation, argument
Needs only Pillow (Debian's python3-pil); run: /usr/bin/python3 tools/golden/make_augment_fixtures.py
"""
import json
import os

import PIL
from PIL import Image, ImageEnhance, ImageOps

S = 24
FILL = (124, 116, 104)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "augment")


def test_image():
    """A deterministic pattern: gradients, a disc, and LCG noise; channel ranges not full (AutoContrast)."""
    state = 12345
    px = bytearray()
    for y in range(S):
        for x in range(S):
            state = (state * 1103515245 + 12345) % 2**31
            noise = (state >> 16) % 41 - 20
            disc = 60 if (x - 9) ** 2 + (y - 14) ** 2 < 30 else 0
            r = 30 + 7 * x + disc + noise
            g = 50 + 6 * y - disc // 2 + noise // 2
            b = 90 + 3 * ((x * y) % 40) + noise
            px += bytes(max(0, min(255, v)) for v in (r, g, b))
    return Image.frombytes("RGB", (S, S), bytes(px))


def level_arg(op, m):
    """timm's LEVEL_TO_ARG (magnitude on [0, 10]), before the random sign."""
    lv = m / 10.0
    return {
        "Rotate": lv * 30.0,
        "Posterize": int(lv * 4),
        "Solarize": int(lv * 256),
        "SolarizeAdd": int(lv * 110),
        "Color": lv * 1.8 + 0.1,
        "Contrast": lv * 1.8 + 0.1,
        "Brightness": lv * 1.8 + 0.1,
        "Sharpness": lv * 1.8 + 0.1,
        "ShearX": lv * 0.3,
        "ShearY": lv * 0.3,
        "TranslateXRel": lv * 0.45,
        "TranslateYRel": lv * 0.45,
    }.get(op)


def apply(img, op, arg, resample):
    kw = dict(resample=resample, fillcolor=FILL)
    if op == "AutoContrast":
        return ImageOps.autocontrast(img)
    if op == "Equalize":
        return ImageOps.equalize(img)
    if op == "Invert":
        return ImageOps.invert(img)
    if op == "Posterize":
        return img if arg >= 8 else ImageOps.posterize(img, arg)
    if op == "Solarize":
        return ImageOps.solarize(img, arg)
    if op == "SolarizeAdd":
        lut = [min(255, i + arg) if i < 128 else i for i in range(256)]
        return img.point(lut * 3)
    if op in ("Color", "Contrast", "Brightness", "Sharpness"):
        return getattr(ImageEnhance, op)(img).enhance(arg)
    if op == "Rotate":
        return img.rotate(arg, **kw)
    if op == "ShearX":
        return img.transform(img.size, Image.AFFINE, (1, arg, 0, 0, 1, 0), **kw)
    if op == "ShearY":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, arg, 1, 0), **kw)
    if op == "TranslateXRel":
        return img.transform(img.size, Image.AFFINE, (1, 0, arg * img.size[0], 0, 1, 0), **kw)
    if op == "TranslateYRel":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, arg * img.size[1]), **kw)
    raise ValueError(op)


def main():
    img = test_image()
    cases = []
    for op in ("AutoContrast", "Equalize", "Invert"):
        cases.append(dict(op=op, magnitude=5.0, negate=False, interpolation="bilinear"))
    for op in ("Posterize", "Solarize", "SolarizeAdd", "Color", "Contrast", "Brightness", "Sharpness"):
        for m in (0.0, 2.5, 5.0, 7.7, 10.0):
            cases.append(dict(op=op, magnitude=m, negate=False, interpolation="bilinear"))
    for op in ("Rotate", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"):
        for m in (2.5, 5.0, 10.0):
            for negate in (False, True):
                for interp in ("bilinear", "bicubic"):
                    cases.append(dict(op=op, magnitude=m, negate=negate, interpolation=interp))
    out = bytearray()
    for c in cases:
        arg = level_arg(c["op"], c["magnitude"])
        if arg is not None and c["negate"]:
            arg = -arg
        resample = Image.BICUBIC if c["interpolation"] == "bicubic" else Image.BILINEAR
        res = apply(img, c["op"], arg, resample)
        assert res.mode == "RGB" and res.size == (S, S)
        out += res.tobytes()
        c["argument"] = arg
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "input.bin"), "wb") as f:
        f.write(img.tobytes())
    with open(os.path.join(OUT, "outputs.bin"), "wb") as f:
        f.write(bytes(out))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(pillow=PIL.__version__, size=S, fill=FILL, cases=cases), f, indent=1)
    print(f"{len(cases)} cases, {len(out)} bytes -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
