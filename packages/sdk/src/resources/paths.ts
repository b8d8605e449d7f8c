/** Builds a path from literal parts and user-supplied segments, encoding the segments. */
export function pathOf(strings: TemplateStringsArray, ...segments: string[]): string {
  return strings.reduce(
    (path, literal, i) => path + literal + (i < segments.length ? encodeURIComponent(segments[i] ?? "") : ""),
    "",
  );
}
