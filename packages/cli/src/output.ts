import { stringify } from "yaml";
import { CliError, EXIT } from "./errors";

export type OutputFormat = "table" | "json" | "yaml";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new CliError(`--output ${JSON.stringify(value)} is not a format: use table, json or yaml`, EXIT.invalidInput);
}

/** A table's columns: a header and how to read each row's cell. */
export type Columns<T> = [header: string, cell: (row: T) => unknown][];

/** Renders rows as a plain aligned table (the default), or the raw objects as JSON or YAML. */
export function render<T>(format: OutputFormat, value: T | T[], columns: Columns<T>): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  if (format === "yaml") return stringify(value);
  const rows = Array.isArray(value) ? value : [value];
  const cells = rows.map((row) => columns.map(([, cell]) => text(cell(row))));
  const headers = columns.map(([header]) => header);
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
  return `${[line(headers), ...cells.map(line)].join("\n")}\n`;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (Array.isArray(value)) return value.map(text).join(",");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value).replaceAll("\n", " ");
}
