/**
 * Picks, from a crashed backend's stderr tail, the line that names the cause. The last line rarely
 * does: Node ends a crash with "Node.js v20.20.2", Python with the exception after its traceback,
 * vLLM with shutdown chatter. Lines are at most 2000 characters (OutputLines), and every pattern here
 * is a plain alternation without nested quantifiers, so scanning 40 lines stays linear.
 */

const PYTHON_TRACEBACK = "Traceback (most recent call last):";

/** Lines that never explain anything: stack frames, Node's source excerpt and version footer. */
const NOISE = [
  /^\s+at\s/, // a JavaScript stack frame
  /^Node\.js v\d/, // Node's footer
  /^\s*\^+\s*$/, // the caret under a source excerpt
  /^(?:node:[\w/-]+|file:\/\/\S+|\/\S+\.[cm]?js):\d+$/, // "node:events:497": where the throw is
  /^\s*throw\s/, // the source line Node quotes
  /^\s*[{}]\s*$/,
];

/** The error label at the start of a line: "Error: ...", "TypeError [ERR_X]: ...", "ModuleNotFoundError: ...". */
const ERROR_LABEL = /^(?:[A-Za-z_][\w.]*)?(?:Error|Exception|Exit|Interrupt)(?: \[[\w.-]+\])?:\s/;
/** A cause named in words the operator can act on. */
const KNOWN_CAUSE =
  /EADDRINUSE|address already in use|EACCES|ENOENT|not found|no such file or directory|permission denied|out of memory|cannot allocate|no space left/i;
/** Any line that says something went wrong. */
const ERROR_WORD = /\b(?:error|fatal|panic|failed|failure|exception|abort(?:ed)?)\b/i;

const isNoise = (line: string): boolean => line.trim() === "" || NOISE.some((pattern) => pattern.test(line));
const isIndented = (line: string): boolean => /^\s/.test(line);

/**
 * The line of a stderr tail that tells why the process ended, in this order of preference: the
 * exception line after Python's last traceback, the last line opening with an error label
 * (`Error: listen EADDRINUSE ...`), the last one naming a known cause (`vllm: not found`), the last
 * one with an error word, else the last line that is not noise. Undefined for an empty tail.
 *
 * @example
 * ```ts
 * tellingLine(["Error: listen EADDRINUSE: address already in use :::8000", "    at Server.listen", "", "Node.js v20.20.2"]);
 * // "Error: listen EADDRINUSE: address already in use :::8000"
 * ```
 */
export function tellingLine(lines: readonly string[]): string | undefined {
  const fromTraceback = pythonException(lines);
  if (fromTraceback !== undefined) return fromTraceback;
  const candidates = lines.filter((line) => !isNoise(line));
  const unindented = candidates.filter((line) => !isIndented(line));
  return (
    findLast(unindented, (line) => ERROR_LABEL.test(line.trim())) ??
    findLast(unindented, (line) => KNOWN_CAUSE.test(line)) ??
    findLast(unindented, (line) => ERROR_WORD.test(line)) ??
    candidates.at(-1)?.trim()
  );
}

/**
 * The exception line closing Python's last traceback: the first line after the header that is not
 * an indented frame. Backends that prefix every line (vLLM's "(EngineCore pid=12) ") keep the prefix.
 */
function pythonException(lines: readonly string[]): string | undefined {
  let header = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]?.includes(PYTHON_TRACEBACK)) {
      header = i;
      break;
    }
  }
  if (header < 0) return undefined;
  const headerLine = lines[header] as string;
  const prefix = headerLine.slice(0, headerLine.indexOf(PYTHON_TRACEBACK));
  for (let i = header + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const rest = line.startsWith(prefix) ? line.slice(prefix.length) : line;
    if (rest.trim() !== "" && !isIndented(rest)) return line.trim();
  }
  return undefined;
}

function findLast(lines: readonly string[], test: (line: string) => boolean): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (test(line)) return line.trim();
  }
  return undefined;
}
