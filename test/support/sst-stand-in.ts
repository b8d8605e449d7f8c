/**
 * A recording stand-in for the globals SST gives sst.config.ts and infra/* (`$config`, `$app`,
 * `sst`, `aws`, `$interpolate`, ...), so the wiring tests can evaluate the real infra files without
 * an AWS account and assert what they ask for. Generic by construction: any `sst.<ns>.<Class>` or
 * `aws.<ns>.<Class>` (Queue, Bus, iam.Role, ec2.Instance, ...) is recorded with its name and
 * arguments, any method called on a recorded resource is recorded too, and any property read of
 * a resource or of a provider function's result is an output token printed as `{{Name.prop}}`.
 * `values` resolves chosen tokens to values for `.apply` callbacks (e.g. the availability zones,
 * the server secret); other callbacks get the token itself.
 */

export interface RecordedResource {
  /** `sst.aws.Function`, `aws.ec2.Vpc`, ... */
  type: string;
  name: string;
  /** The arguments as given, outputs kept as tokens (see `plain`). */
  args: unknown;
  /** Methods called on the resource, in order (e.g. the Router's `route`). */
  calls: { method: string; args: unknown[] }[];
}

export interface Recording {
  resources: RecordedResource[];
  /** Provider functions called (`aws.getRegionOutput`, ...) with their arguments. */
  functionCalls: { path: string; args: unknown[] }[];
  ofType(type: string): RecordedResource[];
  /** The one resource of this type and name; throws listing what exists otherwise. */
  get(type: string, name: string): RecordedResource;
}

const TOKEN = Symbol("sst-stand-in-token");
const RESOLVED = Symbol("sst-stand-in-resolved");

/** A value an `.apply` produced: still an output to infra code, plain to assertions. */
class Resolved {
  readonly [RESOLVED] = true;
  constructor(readonly value: unknown) {}
  apply(fn: (value: unknown) => unknown): unknown {
    return resolvedOf(fn(this.value));
  }
  toString(): string {
    return String(plain(this.value));
  }
  [Symbol.toPrimitive](): string {
    return this.toString();
  }
  toJSON(): unknown {
    return plain(this.value);
  }
}

function resolvedOf(value: unknown): unknown {
  if (value instanceof Resolved || isToken(value)) return value;
  return new Resolved(value);
}

function isToken(value: unknown): boolean {
  return (typeof value === "function" || typeof value === "object") && value !== null && (value as { [TOKEN]?: string })[TOKEN] !== undefined;
}

/** Tokens as `{{path}}` strings and applied values as their values, recursively: what assertions compare. */
export function plain(value: unknown): unknown {
  if (isToken(value)) return `{{${(value as { [TOKEN]: string })[TOKEN]}}}`;
  if (value instanceof Resolved) return plain(value.value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  }
  return value;
}

export interface StandInOptions {
  stage: string;
  /** Values of tokens by path, for `.apply` (e.g. `{"ServerSecret.value": "..."}`). */
  values?: Record<string, unknown>;
}

/** Installs the globals on `globalThis` and returns what the infra code records. */
export function installSstStandIn(options: StandInOptions): Recording {
  const values = options.values ?? {};
  const recording: Recording = {
    resources: [],
    functionCalls: [],
    ofType: (type) => recording.resources.filter((resource) => resource.type === type),
    get: (type, name) => {
      const found = recording.resources.find((resource) => resource.type === type && resource.name === name);
      if (found === undefined) {
        throw new Error(`no ${type} named ${name}; recorded: ${recording.resources.map((r) => `${r.type} ${r.name}`).join(", ")}`);
      }
      return found;
    },
  };

  /** An output token: property reads extend its path, `.apply` runs at once, calls record on `onCall`. */
  function token(path: string, onCall?: (args: unknown[]) => unknown): unknown {
    const target = () => undefined;
    return new Proxy(target, {
      get(_, property) {
        if (property === TOKEN) return path;
        if (property === Symbol.toPrimitive || property === "toString" || property === "toJSON") return () => `{{${path}}}`;
        if (property === "then" || typeof property === "symbol") return undefined;
        if (property === "apply") {
          // Without a value, the callback gets the output itself: its properties are outputs too.
          return (fn: (value: unknown) => unknown) => resolvedOf(fn(Object.hasOwn(values, path) ? values[path] : token(path)));
        }
        return token(`${path}.${property}`);
      },
      apply(_, __, args: unknown[]) {
        return onCall === undefined ? token(`${path}()`) : onCall(args);
      },
    });
  }

  function resource(type: string, name: string, args: unknown): unknown {
    const recorded: RecordedResource = { type, name, args, calls: [] };
    recording.resources.push(recorded);
    return new Proxy(
      {},
      {
        get(_, property) {
          if (property === TOKEN) return name;
          if (typeof property === "symbol" || property === "then") return undefined;
          return token(`${name}.${property}`, (callArgs) => {
            recorded.calls.push({ method: property, args: callArgs });
            return token(`${name}.${property}()`);
          });
        },
      },
    );
  }

  /** `sst`, `aws` and their namespaces: Capitalised members are resource classes, others namespaces or functions. */
  function namespace(path: string): unknown {
    const target = () => undefined;
    return new Proxy(target, {
      get(_, property) {
        if (typeof property === "symbol" || property === "then") return undefined;
        const member = `${path}.${property}`;
        if (/^[A-Z]/.test(property)) {
          return new Proxy(function Resource() {}, {
            construct(_target, [name, args]: unknown[]) {
              return resource(member, name as string, args) as object;
            },
          });
        }
        return namespace(member);
      },
      apply(_, __, args: unknown[]) {
        recording.functionCalls.push({ path, args });
        return token(`${path}()`);
      },
    });
  }

  /** A token's value when `values` has it, else the token; anything else as it is. */
  const resolvedValue = (value: unknown): unknown => {
    if (!isToken(value)) return value instanceof Resolved ? value.value : value;
    const path = (value as { [TOKEN]: string })[TOKEN];
    return Object.hasOwn(values, path) ? values[path] : value;
  };

  const interpolate = (strings: TemplateStringsArray, ...parts: unknown[]) =>
    new Resolved(strings.reduce((text, piece, index) => text + piece + (index < parts.length ? String(plain(parts[index])) : ""), ""));

  Object.assign(globalThis, {
    $config: (config: unknown) => config,
    $app: { name: "inferencekey", stage: options.stage },
    $interpolate: interpolate,
    $concat: (...parts: unknown[]) => new Resolved(parts.map((part) => String(plain(part))).join("")),
    $jsonStringify: (value: unknown) => new Resolved(JSON.stringify(plain(value))),
    sst: namespace("sst"),
    aws: namespace("aws"),
    $util: {
      all: (inputs: unknown[]) => ({ apply: (fn: (values: unknown[]) => unknown) => resolvedOf(fn(inputs.map(resolvedValue))) }),
      jsonStringify: (value: unknown) => new Resolved(JSON.stringify(plain(value))),
      asset: {
        FileAsset: class FileAsset {
          constructor(readonly path: string) {}
        },
      },
    },
  });
  return recording;
}

/** Removes the globals again (each test file evaluates infra/* with its own stage). */
export function removeSstStandIn(): void {
  for (const name of ["$config", "$app", "$interpolate", "$concat", "$jsonStringify", "$util", "sst", "aws"]) {
    delete (globalThis as Record<string, unknown>)[name];
  }
}
