/** A small CSV line splitter (RFC 4180 quotes) for the label CSVs of AffectNet and FERPlus. */
import { limit } from "../../util/limits.ts";
import { DatasetError } from "./types.ts";

/**
 * Splits one CSV line into fields: commas separate, double quotes protect commas, `""` is a
 * quote inside a quoted field. Whitespace around unquoted fields is kept (callers trim).
 */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(field);
      field = "";
    } else field += ch;
  }
  out.push(field);
  return out;
}

/**
 * The lines of a text, without line ends (`\n` or `\r\n`); a trailing empty line is dropped.
 * With `source`, a line longer than ADADF_MAX_LINE_CHARS is a DatasetError naming `source:line`
 * (no label file has one; a file without line ends is not a label file).
 */
export function textLines(text: string, source?: string): string[] {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (source !== undefined) {
    const max = limit("ADADF_MAX_LINE_CHARS");
    const i = lines.findIndex((l) => l.length > max);
    if (i >= 0) throw lineTooLong(source, i + 1, lines[i].length, max);
  }
  return lines;
}

/** The error for a line above ADADF_MAX_LINE_CHARS. */
export function lineTooLong(source: string, line: number, length: number, max: number): DatasetError {
  return new DatasetError(
    `${source}:${line}: a line of ${length} characters, above the limit of ${max} (raise it with ADADF_MAX_LINE_CHARS)`,
  );
}

/**
 * The index of each wanted column in a header row, matched case-insensitively after trimming.
 * Throws a DatasetError naming the file and the missing columns.
 */
export function columnIndices<K extends string>(
  header: string[],
  options: { wanted: readonly K[]; source: string },
): Record<K, number> {
  const { wanted, source } = options;
  const norm = header.map((h) => h.trim().toLowerCase());
  const out = {} as Record<K, number>;
  const missing: string[] = [];
  for (const w of wanted) {
    const i = norm.indexOf(w.toLowerCase());
    if (i < 0) missing.push(w);
    else out[w] = i;
  }
  if (missing.length > 0) {
    throw new DatasetError(
      `${source}:1: the header lacks column(s) ${missing.join(", ")}; expected ${wanted.join(", ")}, got ${
        header.map((h) => h.trim()).join(", ")
      }`,
    );
  }
  return out;
}
