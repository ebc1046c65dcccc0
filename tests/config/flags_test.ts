import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG, resolveConfig, type TrainConfig } from "../../lib/config.ts";
import {
  FLAG_TABLE,
  flagHelp,
  flagOptions,
  flagsToLayer,
  flagValue,
  pickFlags,
  TRAIN_FLAGS,
} from "../../lib/config/flags.ts";

/** A valid value of each kind of flag, and its parsed form. */
function sample(name: string, kind: string): [string, unknown] | undefined {
  const special: Record<string, [string, unknown]> = {
    "dataset": ["raf-db", "raf-db"],
    "mode": ["class", "class"],
    "backbone": ["resnet50", "resnet50"],
    "cache": ["disk", "disk"],
    "threshold-rows": ["code", "code"],
    "attention-on": ["features", "features"],
    "backend": ["cpu", "cpu"],
    "synth-difficulty": ["easy", "easy"],
    "affectnet-classes": ["8", 8],
    "image-size": ["64", 64],
    "width": ["8", 8],
    "batch-size": ["16", 16],
    "epochs": ["3", 3],
    "synth-train": ["70", 70],
    "synth-test": ["70", 70],
    "min-weight": ["0.3", 0.3],
    "max-weight": ["0.9", 0.9],
    "noise": ["0.1", 0.1],
  };
  if (special[name]) return special[name];
  switch (kind) {
    case "string":
      return ["x", "x"];
    case "number":
      return ["0.5", 0.5];
    case "integer":
      return ["3", 3];
    case "boolean":
      return ["true", true];
    case "boolean-or-auto":
      return ["auto", "auto"];
  }
  return undefined;
}

function at(o: unknown, path: string): unknown {
  for (const k of path.split(".")) o = (o as Record<string, unknown>)[k];
  return o;
}

Deno.test("flagHelp() lists every flag of the table with its value placeholder", () => {
  const help = flagHelp(TRAIN_FLAGS);
  for (const f of FLAG_TABLE) {
    const head = f.name === "help" ? "-h, --help" : `--${f.name}${f.value ? ` ${f.value}` : ""}`;
    assert.ok(help.includes(`  ${head}`), `help lacks ${head}`);
  }
  assert.match(help, /--mode adadf\|baseline\|class\|label/);
  assert.match(help, /--backend auto\|tensorflow\|webgpu\|wasm\|cpu/);
  assert.match(
    help,
    /--epochs N +\(default 20 on SynthFER, else 75\)/,
    "defaults come from DEFAULT_CONFIG and the presets",
  );
});

Deno.test("flagOptions() and flagsToLayer() accept each flag of the table and set the config field it names", () => {
  const options = flagOptions(TRAIN_FLAGS);
  assert.deepEqual(Object.keys(options), FLAG_TABLE.map((f) => f.name));
  for (const f of FLAG_TABLE) {
    if (f.kind === "switch") {
      const { values } = parseArgs({ args: [`--${f.name}`], options, strict: true });
      assert.equal((values as Record<string, unknown>)[f.name], true);
      continue;
    }
    const [raw, parsed] = sample(f.name, f.kind)!;
    const { values } = parseArgs({ args: [`--${f.name}`, raw], options, strict: true });
    const layer = flagsToLayer(TRAIN_FLAGS, values as Record<string, string>);
    if (f.path === undefined) {
      assert.deepEqual(layer, {}, `--${f.name} is the task's, not the config's`);
      continue;
    }
    assert.deepEqual(at(layer, f.path), parsed, `--${f.name} sets ${f.path}`);
    assert.ok(f.path.split(".")[0] in DEFAULT_CONFIG, `${f.path} is a TrainConfig field`);
    // and the layer resolves, over a real data set (TenCrop and noise files need one)
    const cfg: TrainConfig = resolveConfig({ dataset: "raf-db", dataPath: "/d" }, layer);
    assert.deepEqual(at(cfg, f.path), parsed);
  }
});

Deno.test("flagValue() reads by kind and names the flag and the text otherwise", () => {
  assert.equal(flagValue({ name: "epochs", kind: "integer" }, "4"), 4);
  assert.equal(flagValue({ name: "lr", kind: "number" }, "1e-4"), 1e-4);
  assert.equal(flagValue({ name: "freeze-stem", kind: "boolean-or-auto" }, "auto"), "auto");
  assert.equal(flagValue({ name: "x", kind: "integer" }, undefined), undefined);
  assert.throws(() => flagValue({ name: "epochs", kind: "integer" }, "1.5"), /--epochs expects an integer, got '1.5'/);
  assert.throws(() => flagValue({ name: "lr", kind: "number" }, " "), /--lr expects a number, got ' '/);
  assert.throws(() => flagValue({ name: "ten-crop", kind: "boolean" }, "yes"), /--ten-crop expects true or false/);
});

Deno.test("pickFlags() keeps the table's kind and path and takes a task's help text", () => {
  const [b] = pickFlags(["batch-size"], { "batch-size": { help: "images per forward pass", showDefault: undefined } });
  assert.equal(b.kind, "integer");
  assert.equal(b.path, "batchSize");
  assert.equal(flagHelp([b]), "  --batch-size N           images per forward pass");
  assert.throws(() => pickFlags(["nope"]), /no flag --nope/);
});
