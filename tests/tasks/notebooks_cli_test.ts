import assert from "node:assert/strict";

const TASK = new URL("../../tasks/notebooks.ts", import.meta.url).pathname;

async function notebooks(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TASK, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task notebooks --help describes --html, --only and the exit codes", async () => {
  const r = await notebooks("--help");
  assert.equal(r.code, 0, r.stderr);
  for (const word of ["--html DIR", "--only", "--timeout", "offline", "Exit codes"]) {
    assert.match(r.stdout, new RegExp(word));
  }
});

Deno.test("deno task notebooks answers bad usage with one error line and exit code 2, before running anything", async () => {
  const file = await Deno.makeTempFile();
  try {
    for (
      const [args, message] of [
        [[], /--html DIR is required/],
        [["--html"], /argument missing/],
        [["--bogus"], /unknown flag --bogus/],
        [["--html", "/tmp/x", "extra"], /unexpected argument 'extra'/],
        [["--html", "/tmp/x", "--only", "99"], /'99' names no notebook; notebooks: 00_tour, /],
        [["--html", "/tmp/x", "--timeout=0"], /--timeout expects seconds > 0/],
        [["--html", file], /is not a folder/],
      ] as const
    ) {
      const r = await notebooks(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0], /^error: /);
      assert.match(lines[0], message);
    }
  } finally {
    await Deno.remove(file);
  }
});
