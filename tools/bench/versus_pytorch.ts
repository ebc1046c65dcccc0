/**
 * The toolkit against PyTorch on this machine, in one run: for each repetition, `deno task bench`
 * (training and inference, medians of --steps steps) and then `tools/bench/pytorch_bench.py` with
 * the same model, batch, sizes and threads, one right after the other, for each library setting
 * asked for (`--setting name=ENV=VALUE,...`, e.g. `openblas=ADADF_DNNL=off` `onednn=ADADF_DNNL=on`),
 * and for each thread count (`--threads 1 --threads 2`). Prints a table of img/s and the ratios
 * to PyTorch's run of the same repetition; `--json FILE` keeps every figure.
 *
 *   deno run -A tools/bench/versus_pytorch.ts --reps 3 --steps 5 --threads 2 \
 *     --setting openblas=ADADF_DNNL=off --setting onednn=ADADF_DNNL=on
 */
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";

const ROOT = new URL("../..", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    steps: { type: "string", default: "5" },
    threads: { type: "string", multiple: true, default: ["2"] },
    "image-size": { type: "string", multiple: true, default: ["100", "48"] },
    width: { type: "string", default: "64" },
    "batch-size": { type: "string", default: "64" },
    setting: { type: "string", multiple: true, default: ["default="] },
    json: { type: "string" },
  },
});

interface Row {
  kind: string;
  imageSize: number;
  imagesPerSecond: number;
}
const sizeArgs = values["image-size"].flatMap((s) => ["--image-size", s]);
const common = ["--steps", values.steps, "--width", values.width, "--batch-size", values["batch-size"], ...sizeArgs];

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<Row[]> {
  const r = await new Deno.Command(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(r.stdout);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}\n${new TextDecoder().decode(r.stderr)}`);
  return JSON.parse(text.trim().split("\n").at(-1)!).results as Row[];
}

const settings = values.setting.map((s) => {
  const [name, ...rest] = s.split("=");
  const env: Record<string, string> = {};
  for (const kv of rest.join("=").split(",").filter(Boolean)) {
    const [k, v] = kv.split("=");
    env[k] = v;
  }
  return { name, env };
});
const records: {
  rep: number;
  threads: number;
  who: string;
  kind: string;
  imageSize: number;
  imagesPerSecond: number;
}[] = [];
for (let rep = 1; rep <= Number(values.reps); rep++) {
  for (const t of values.threads) {
    for (const s of settings) {
      const ours = await run(Deno.execPath(), [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        "tasks/bench.ts",
        "--json",
        "--no-profile",
        "--no-pipeline",
        "--no-faces",
        "--threads",
        t,
        ...common,
      ], { ...s.env, OPENBLAS_NUM_THREADS: t });
      for (const r of ours) records.push({ rep, threads: Number(t), who: s.name, ...pick(r) });
      console.error(`rep ${rep}, ${t} thread(s), ${s.name}: ${fmt(ours)}`);
    }
    const torch = await run("/usr/bin/python3", ["tools/bench/pytorch_bench.py", "--threads", t, ...common], {});
    for (const r of torch) records.push({ rep, threads: Number(t), who: "pytorch", ...pick(r) });
    console.error(`rep ${rep}, ${t} thread(s), pytorch: ${fmt(torch)}`);
  }
}

function pick(r: Row) {
  return { kind: r.kind, imageSize: r.imageSize, imagesPerSecond: r.imagesPerSecond };
}
function fmt(rows: Row[]) {
  return rows.map((r) => `${r.kind} ${r.imageSize}: ${r.imagesPerSecond.toFixed(1)} img/s`).join(", ");
}

// the table: per threads, kind, size and setting, each repetition's img/s and ratio to PyTorch's same repetition
console.log(`| threads | measure | ${settings.map((s) => s.name).join(" | ")} | pytorch | ratios (per repetition) |`);
console.log(`| --- | --- | ${settings.map(() => "---").join(" | ")} | --- | --- |`);
for (const t of values.threads.map(Number)) {
  for (const kind of ["train", "infer"]) {
    for (const size of values["image-size"].map(Number)) {
      const of = (who: string) =>
        records.filter((r) => r.threads === t && r.kind === kind && r.imageSize === size && r.who === who)
          .sort((a, b) => a.rep - b.rep).map((r) => r.imagesPerSecond);
      const torch = of("pytorch");
      const cells = settings.map((s) => of(s.name).map((x) => x.toFixed(1)).join(" / "));
      const ratios = settings.map((s) => `${s.name} ${of(s.name).map((x, i) => (x / torch[i]).toFixed(2)).join(" / ")}`)
        .join("; ");
      console.log(
        `| ${t} | ${kind} ${size}x${size} | ${cells.join(" | ")} | ${
          torch.map((x) => x.toFixed(1)).join(" / ")
        } | ${ratios} |`,
      );
    }
  }
}
if (values.json) writeFileSync(values.json, JSON.stringify({ settings, records }, null, 1) + "\n");
