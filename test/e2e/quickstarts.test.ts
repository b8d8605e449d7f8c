import { spawn } from "node:child_process";
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlatformProcess, REPO_ROOT, startPlatformProcess } from "../support/platform-process";
import { isAlive, waitFor } from "../support/processes";

/**
 * The README's two quickstarts, run as a user runs them: from empty directories outside the
 * repository, with the SDKs built from it (the tarball of `npm pack -w packages/sdk`, the wheel
 * `pip wheel` builds from packages/sdk-python), against platforms started by `npm start`'s
 * entry point. The scripts are the README's blocks, unchanged; their workload `command` is the
 * README's: the TEST DOUBLE test/replicas/openai-replica.mjs (model weights cannot be downloaded
 * here), named through INFERENCEKEY_START_DIR, the directory the platforms run in (the repository).
 * Each quickstart first runs on a platform of its own; then, on the TypeScript one's platform,
 * Python runs after TypeScript, TypeScript again (on Node 20 when the machine has it) and Python
 * again: neither changes the other's workload.
 */
const README = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const PYTHON_README = readFileSync(join(REPO_ROOT, "packages/sdk-python/README.md"), "utf8");
const SDK_VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "packages/sdk/package.json"), "utf8")) as { version: string }
).version;

/** The fenced block whose first line is `firstLine` (the README names each runnable file so). */
function fencedBlock(markdown: string, firstLine: string): string {
  const blocks = [...markdown.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((match) => match[1] as string);
  const found = blocks.filter((body) => body.startsWith(`${firstLine}\n`));
  if (found.length !== 1)
    throw new Error(`expected one block starting with "${firstLine}", found ${found.length}`);
  return found[0] as string;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program to completion (killed after `timeoutMs`), collecting its output. */
function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function mustRun(file: string, args: string[], options: Parameters<typeof run>[2]): Promise<Ran> {
  const ran = await run(file, args, options);
  if (ran.code !== 0) {
    throw new Error(
      `${file} ${args.join(" ")} exited ${ran.code} after ${ran.ms} ms\n${ran.stdout}\n${ran.stderr}`,
    );
  }
  return ran;
}

/** A Node 20 on PATH other than the repository's own Node 22 (.tools/), with its version. */
async function findNode20(): Promise<{ path: string; version: string } | undefined> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.startsWith(REPO_ROOT)) continue;
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const version = (await run(candidate, ["--version"], { cwd: REPO_ROOT })).stdout.trim();
    if (version.startsWith("v20.")) return { path: candidate, version };
  }
  return undefined;
}

const node20 = await findNode20();
const timings: Record<string, number> = {};

const TYPESCRIPT_OUTPUT = (changed: boolean) =>
  `acme support-bot ${changed}\nmeta-llama/Llama-3.1-8B-Instruct echo(meta-llama/Llama-3.1-8B-Instruct): Hola\n`;
const PYTHON_OUTPUT = (changed: boolean) =>
  `acme faq-bot ${changed ? "True" : "False"}\nQwen/Qwen2.5-0.5B-Instruct echo(Qwen/Qwen2.5-0.5B-Instruct): Hola\n`;

describe("the README quickstarts, from empty directories with the built SDKs", () => {
  const work = mkdtempSync(join(tmpdir(), "ik-quickstarts-"));
  const tsApp = join(work, "ik-quickstart");
  const pyApp = join(work, "ik-quickstart-py");
  const recordDir = join(work, "replica-records");
  /** `shared` runs both quickstarts in turn; `pythonAlone` only the Python one. */
  let shared: PlatformProcess;
  let pythonAlone: PlatformProcess;
  let tarball: string;
  /** tsc over the quickstart as a TypeScript module, started once the tarball is installed. */
  let typeCheck: Promise<Ran>;

  beforeAll(async () => {
    mkdirSync(tsApp);
    mkdirSync(pyApp);
    mkdirSync(recordDir);
    const started = Date.now();
    // The slow preparations are independent: run them together.
    const platformEnv = { env: { REPLICA_RECORD_DIR: recordDir, INFERENCEKEY_BACKEND_ENV: "REPLICA_RECORD_DIR" } };
    const [platforms, packed] = await Promise.all([
      Promise.all([startPlatformProcess(platformEnv), startPlatformProcess(platformEnv)]),
      (async () => {
        // The README's commands: npm pack -w packages/sdk, then npm init -y && npm install <tarball>.
        const pack = await mustRun("npm", ["pack", "-w", "packages/sdk", "--pack-destination", work], {
          cwd: REPO_ROOT,
          timeoutMs: 180_000,
        });
        timings.npmPackMs = pack.ms;
        const file = join(work, `inferencekey-sdk-${SDK_VERSION}.tgz`);
        await mustRun("npm", ["init", "-y"], { cwd: tsApp });
        const install = await mustRun(
          "npm",
          ["install", "--no-audit", "--no-fund", "--prefer-offline", file],
          {
            cwd: tsApp,
          },
        );
        timings.npmInstallMs = install.ms;
        // The quickstart as a TypeScript module, compiled as a strict user project would compile it;
        // skipLibCheck off, so the package's whole .d.ts is checked. It runs while the rest prepares.
        writeFileSync(join(tsApp, "quickstart.mts"), fencedBlock(README, "// quickstart.mjs"));
        const tsc = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
        const options = [
          "--strict",
          "--noEmit",
          "--skipLibCheck",
          "false",
          "--module",
          "nodenext",
          "--target",
          "es2022",
        ];
        typeCheck = run(process.execPath, [tsc, ...options, "quickstart.mts"], { cwd: tsApp });
        return file;
      })(),
      (async () => {
        // The README's commands: a fresh venv, pip wheel of packages/sdk-python into the directory,
        // pip install of that wheel.
        const venv = await mustRun("python3", ["-m", "venv", ".venv"], { cwd: pyApp });
        timings.venvMs = venv.ms;
        const pip = join(pyApp, ".venv/bin/pip");
        const quiet = ["-q", "--disable-pip-version-check"];
        const wheel = await mustRun(
          pip,
          ["wheel", ...quiet, "--no-deps", "-w", ".", join(REPO_ROOT, "packages/sdk-python")],
          {
            cwd: pyApp,
            timeoutMs: 180_000,
          },
        );
        timings.pipWheelMs = wheel.ms;
        const install = await mustRun(
          pip,
          ["install", ...quiet, `./inferencekey-${SDK_VERSION}-py3-none-any.whl`],
          {
            cwd: pyApp,
            timeoutMs: 180_000,
          },
        );
        timings.pipInstallMs = install.ms;
      })(),
    ]);
    [shared, pythonAlone] = platforms;
    tarball = packed;
    timings.prepareMs = Date.now() - started;
    writeFileSync(join(tsApp, "quickstart.mjs"), fencedBlock(README, "// quickstart.mjs"));
    writeFileSync(join(pyApp, "quickstart.py"), fencedBlock(README, "# quickstart.py"));
  }, 300_000);

  afterAll(async () => {
    console.log(`quickstarts timings (ms): ${JSON.stringify(timings)}`);
    await Promise.all([shared?.stop(), pythonAlone?.stop()]);
    const pids = readdirSync(recordDir).map(
      (file) => (JSON.parse(readFileSync(join(recordDir, file), "utf8")) as { pid: number }).pid,
    );
    await waitFor("the quickstarts' replicas to stop", () => pids.every((pid) => !isAlive(pid)) || undefined);
    rmSync(work, { recursive: true, force: true });
  });

  const management = (platform: PlatformProcess) =>
    new ManagementClient({ token: platform.sdkToken, baseUrl: platform.baseUrl, project: "acme" });

  /** What `source .inferencekey/dev.env` gives a shell, and nothing of this test's environment. */
  const userEnv = (platform: PlatformProcess): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    INFERENCEKEY_BASE_URL: platform.baseUrl,
    INFERENCEKEY_SDK_TOKEN: platform.sdkToken,
  });

  const runTypeScript = (platform: PlatformProcess, node = process.execPath) =>
    run(node, ["quickstart.mjs"], { cwd: tsApp, env: userEnv(platform), timeoutMs: 90_000 });
  const runPython = (platform: PlatformProcess) =>
    run(join(pyApp, ".venv/bin/python"), ["quickstart.py"], {
      cwd: pyApp,
      env: userEnv(platform),
      timeoutMs: 90_000,
    });

  /** What a failing quickstart leaves to read: the workloads' status and the platform's log. */
  const diagnose = async (ran: Ran, platform: PlatformProcess): Promise<string> => {
    if (ran.code === 0 && ran.stderr === "") return "";
    const statuses = await Promise.all(
      ["support-bot", "faq-bot"].map((slug) =>
        management(platform)
          .get(slug)
          .then((workload) => `${slug}: ${JSON.stringify(workload.status)}`)
          .catch((error: unknown) => `${slug}: ${String(error)}`),
      ),
    );
    return `${ran.stderr}\n${statuses.join("\n")}\nplatform log (tail):\n${platform.output().slice(-4000)}`;
  };

  it("packs a tarball of dist/ whose package depends on nothing private", async () => {
    // Prepare
    const listing = await mustRun("tar", ["tzf", tarball], { cwd: work });
    const installed = JSON.parse(
      readFileSync(join(tsApp, "node_modules/@inferencekey/sdk/package.json"), "utf8"),
    ) as {
      dependencies?: Record<string, string>;
    };

    // Act
    const files = listing.stdout.trim().split("\n").sort();
    const modules = readdirSync(join(tsApp, "node_modules")).sort();

    // Assess
    expect(files).toEqual([
      "package/README.md",
      "package/dist/index.d.ts",
      "package/dist/index.js",
      "package/package.json",
    ]);
    expect(Object.keys(installed.dependencies ?? {})).toEqual(["zod"]);
    expect(modules.filter((name) => !name.startsWith("."))).toEqual(["@inferencekey", "zod"]);
    expect(readdirSync(join(tsApp, "node_modules/@inferencekey"))).toEqual(["sdk"]);
  });

  it("the TypeScript quickstart type-checks against the tarball's .d.ts alone (skipLibCheck off)", async () => {
    // Act
    const checked = await typeCheck;
    timings.typeCheckMs = checked.ms;

    // Assess
    expect(`${checked.stdout}${checked.stderr}`).toBe("");
    expect(checked.code).toBe(0);
  });

  it("the TypeScript quickstart runs on Node 22 on a platform of its own", async () => {
    // Act
    const ran = await runTypeScript(shared);
    timings.typescriptAloneMs = ran.ms;

    // Assess
    expect(ran.stderr, await diagnose(ran, shared)).toBe("");
    expect(ran.stdout).toBe(TYPESCRIPT_OUTPUT(true));
    expect(ran.code).toBe(0);
  }, 120_000);

  // Not at the same time as the TypeScript one: two platforms starting their first replica at once
  // both pick the first replica port (the allocation race the hardening issue fixes).
  it("the Python quickstart runs on a platform of its own", async () => {
    // Act
    const ran = await runPython(pythonAlone);
    timings.pythonAloneMs = ran.ms;

    // Assess
    expect(ran.stderr, await diagnose(ran, pythonAlone)).toBe("");
    expect(ran.stdout).toBe(PYTHON_OUTPUT(true));
    expect(ran.code).toBe(0);
  }, 120_000);

  it("the Python quickstart runs after the TypeScript one, with its own workload", async () => {
    // Act
    const ran = await runPython(shared);
    timings.pythonAfterTypeScriptMs = ran.ms;

    // Assess
    expect(ran.stderr, await diagnose(ran, shared)).toBe("");
    expect(ran.stdout).toBe(PYTHON_OUTPUT(true));
    expect(ran.code).toBe(0);
  }, 120_000);

  it(`the TypeScript quickstart runs again after the Python one, on ${
    node20 === undefined
      ? "Node 22 (no Node 20 on PATH besides the repository's Node 22: Node 20 not checked)"
      : `Node 20 (${node20.path} ${node20.version})`
  }`, async () => {
    // Act
    const ran = await runTypeScript(shared, node20?.path);
    timings.typescriptAgainMs = ran.ms;

    // Assess
    expect(ran.stderr, await diagnose(ran, shared)).toBe("");
    expect(ran.stdout).toBe(TYPESCRIPT_OUTPUT(false));
    expect(ran.code).toBe(0);
  }, 120_000);

  it("the Python quickstart runs again: both workloads kept their own spec, generation 1", async () => {
    // Act
    const ran = await runPython(shared);
    const [supportBot, faqBot] = await Promise.all([
      management(shared).get("support-bot"),
      management(shared).get("faq-bot"),
    ]);

    // Assess
    expect(ran.stderr, await diagnose(ran, shared)).toBe("");
    expect(ran.stdout).toBe(PYTHON_OUTPUT(false));
    expect(ran.code).toBe(0);
    expect(supportBot.generation).toBe(1);
    expect(supportBot.spec.command).toBe(
      'node "$INFERENCEKEY_START_DIR/test/replicas/openai-replica.mjs" serve meta-llama/Llama-3.1-8B-Instruct',
    );
    expect(faqBot.generation).toBe(1);
    expect(faqBot.spec.command).toBe(
      'node "$INFERENCEKEY_START_DIR/test/replicas/openai-replica.mjs" serve Qwen/Qwen2.5-0.5B-Instruct',
    );
    expect(supportBot.status.readyReplicas).toBe(1);
    expect(faqBot.status.readyReplicas).toBe(1);
  }, 120_000);
});

describe("the install instructions", () => {
  it("name the repository's builds, never the public registries' packages of the same names", () => {
    // Prepare
    const pages = {
      "README.md": README,
      "packages/sdk/README.md": readFileSync(join(REPO_ROOT, "packages/sdk/README.md"), "utf8"),
      "packages/sdk-python/README.md": PYTHON_README,
    };

    // Act
    const offending = Object.entries(pages).flatMap(([page, text]) =>
      text
        .split("\n")
        .filter((line) =>
          /\bnpm (?:install|i|add)\b[^\n]*@inferencekey\/sdk|\bpip install\s+(?:-U\s+)?inferencekey\b/.test(
            line,
          ),
        )
        .map((line) => `${page}: ${line}`),
    );

    // Assess
    expect(offending).toEqual([]);
  });

  it("give the Python SDK's README the README's Python quickstart", () => {
    // Prepare
    const quickstart = fencedBlock(README, "# quickstart.py");

    // Act
    const inSdkReadme = fencedBlock(PYTHON_README, "# quickstart.py");

    // Assess
    expect(inSdkReadme).toBe(quickstart);
  });
});
