import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as sdk from "../src";

const indexFile = fileURLToPath(new URL("../src/index.ts", import.meta.url));

/** Names exported from the entry whose declarations carry no `@example` TSDoc tag. */
function exportsWithoutExample(): string[] {
  const program = ts.createProgram([indexFile], {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2023,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(indexFile);
  const moduleSymbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error("could not load the SDK entry");
  return checker
    .getExportsOfModule(moduleSymbol)
    .filter((symbol) => {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const declarations = target.getDeclarations() ?? [];
      return !declarations.some((d) => ts.getJSDocTags(d).some((tag) => tag.tagName.text === "example"));
    })
    .map((symbol) => symbol.getName())
    .sort();
}

describe("public entry", () => {
  it("documents every export with an @example", () => {
    // Prepare
    const entry = indexFile;

    // Act
    const undocumented = exportsWithoutExample();

    // Assess
    expect(undocumented, entry).toEqual([]);
  });

  it("exports both halves and the error hierarchy", () => {
    // Prepare
    const names = Object.keys(sdk);

    // Act
    const errors = names.filter((n) => n.endsWith("Error")).sort();

    // Assess
    expect(names).toEqual(
      expect.arrayContaining([
        "ManagementClient",
        "DataClient",
        "Endpoint",
        "TextStream",
        "Backend",
        "ExecutionPolicy",
        "OnDrift",
        "TaskType",
      ]),
    );
    expect(errors).toEqual([
      "APIConnectionError",
      "APITimeoutError",
      "AuthenticationError",
      "BadRequestError",
      "ConfigurationError",
      "ConflictError",
      "DriftError",
      "IdempotencyKeyReusedError",
      "InferenceKeyError",
      "InternalServerError",
      "JobFailedError",
      "JobNotCancellableError",
      "JobNotFoundError",
      "NotFoundError",
      "PayloadTooLargeError",
      "PermissionDeniedError",
      "RateLimitError",
      "ValidationError",
      "WaitTimeoutError",
      "WorkloadFailedError",
      "WorkloadNotReadyError",
      "WorkloadOutsideWindowError",
      "WorkloadScalingUpError",
    ]);
  });
});
