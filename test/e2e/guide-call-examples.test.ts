import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type LocalPlatform, startLocalPlatform } from "@inferencekey/local";
import { ManagementClient } from "@inferencekey/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anchorsAroundToday } from "../support/clock";
import { describeWithGuide, GUIDE_PRESENT, guideBlocks, REPO } from "../support/guide";
import { processesWith, waitFor } from "../support/processes";

/**
 * The guide's TypeScript "Call" examples run unchanged against the local platform's gateway, with
 * only the allowed substitutions: the base URL, a created key for `ik_live_...` (the support-bot
 * example reads it from SUPPORT_IK_LIVE, as written), and a fake clock that puts the scheduled
 * `billing` workload (cron 0 2 * * *) inside its run. The workloads are provisioned by this test with
 * the guide's slugs, models, backends and task types, but with the OpenAI-compatible TEST DOUBLE
 * `test/replicas/openai-replica.mjs` as their command (model weights cannot be downloaded here).
 */
const workDir = join(REPO, "node_modules/.cache/guide-calls");
const callBlocks = (GUIDE_PRESENT ? guideBlocks("ts") : []).filter((b) => b.code.includes("DataClient") || b.code.includes("new OpenAI("));

const workloads = [
  { slug: "support-bot", model: "meta-llama/Llama-3.1-8B-Instruct", backend: "vllm", taskType: "text2text" },
  { slug: "billing", model: "BAAI/bge-large-en-v1.5", backend: "vllm", taskType: "embedding", cron: "0 2 * * *" },
  { slug: "poster-maker", model: "stabilityai/stable-diffusion-3.5-large", backend: "vllm-omni", taskType: "text2image" },
  { slug: "voice-over", model: "hexgrad/Kokoro-82M", backend: "vllm-omni", taskType: "text2audio" },
  { slug: "transcriber", model: "openai/whisper-large-v3", backend: "vllm-omni", taskType: "audio2text" },
] as const;

/** 02:10 UTC, inside billing's daily 02:00 run; years before and after the real today. */
const clocks = anchorsAroundToday("2026-11-28T02:10:00Z");

describeWithGuide("guide: TypeScript call examples through the local gateway", () => {
  describe.each(clocks)("with the clock $label", ({ at: clock }) => {
    const marker = `e2e-guide-calls-${process.pid}-${clock}`;
    let platform: LocalPlatform;
    const keys = new Map<string, string>();

    beforeAll(async () => {
      platform = await startLocalPlatform({ dir: mkdtempSync(join(tmpdir(), "ik-guide-calls-")), port: 0, now: () => new Date(clock), log: () => undefined });
      const token = readFileSync(platform.devEnvPath, "utf8").match(/INFERENCEKEY_SDK_TOKEN=(\S+)/)?.[1] as string;
      const mgmt = new ManagementClient({ token, baseUrl: platform.url, project: "acme" });
      for (const w of workloads) {
        await mgmt.ensure({
          name: w.slug,
          slug: w.slug,
          model: w.model,
          backend: w.backend,
          taskType: w.taskType,
          command: `${process.execPath} ${join(REPO, "test/replicas/openai-replica.mjs")} serve ${w.model} --marker ${marker}`,
          ...("cron" in w ? { executionPolicy: "scheduled", executionPolicyConfig: { cron: w.cron } } : {}),
        });
        keys.set(w.slug, (await mgmt.keys.create(w.slug, { name: "guide" })).key);
      }
      await waitFor("every workload ready", async () => {
        const ready = await Promise.all(workloads.map(async (w) => (await mgmt.get(w.slug)).status.readyReplicas));
        return ready.every((n) => n === 1) || undefined;
      }, 60_000);
      mkdirSync(workDir, { recursive: true });
    }, 90_000);

    afterAll(async () => {
      await platform?.close();
      await waitFor("no backend left", () => processesWith(marker).length === 0 || undefined);
    });

    it("finds the guide's 5 TypeScript call examples", () => {
      expect(callBlocks.map((b) => b.title)).toEqual([
        "text2text / Call (TypeScript)",
        "embedding / Call (TypeScript)",
        "text2image / Call (TypeScript)",
        "text2audio / Call (TypeScript)",
        "audio2text / Call (TypeScript)",
      ]);
    });

    /** Runs one example in its own process. Asynchronously: the platform under test lives in this process. */
    async function run(index: number): Promise<{ stdout: string; stderr: string; status: number | null; cwd: string }> {
      const block = callBlocks[index];
      if (block === undefined) throw new Error(`no call block ${index}`);
      const slug = /endpoint\(\s*"([^"]+)"/.exec(block.code)?.[1] ?? /\/endpoint\/acme\/([^/]+)\/v1/.exec(block.code)?.[1] ?? "";
      const code = block.code.replaceAll("https://api.inferencekey.com", platform.url).replaceAll('"ik_live_..."', JSON.stringify(keys.get(slug)));
      const file = join(workDir, `call-${index}-${clock}.mts`);
      writeFileSync(file, `${code}\n`);
      const cwd = mkdtempSync(join(tmpdir(), "ik-call-cwd-"));
      writeFileSync(join(cwd, "call.mp3"), Buffer.from("ID3 not really an mp3, but bytes to upload"));
      // tsx is resolved from the repository, since the example runs in its own working directory.
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          ["--import", pathToFileURL(join(REPO, "node_modules/tsx/dist/loader.mjs")).href, file],
          { cwd, env: { ...process.env, INFERENCEKEY_BASE_URL: platform.url, SUPPORT_IK_LIVE: keys.get("support-bot") }, encoding: "utf8", timeout: 60_000 },
          (error, stdout, stderr) => resolve({ stdout, stderr, status: error ? ((error as { code?: number }).code ?? 1) : 0, cwd }),
        );
      });
    }

    it("text2text: generateText prints the text and the model", async () => {
      const { stdout, stderr, status } = await run(0);
      expect(status, stderr).toBe(0);
      expect(stdout).toContain("Hola, ¿cuál es mi saldo?");
      expect(stdout.trim().endsWith("meta-llama/Llama-3.1-8B-Instruct")).toBe(true);
    });

    it("embedding (scheduled billing, inside its cron run): prints the vector count and the model", async () => {
      const { stdout, stderr, status } = await run(1);
      expect(status, stderr).toBe(0);
      expect(stdout.trim()).toBe("2 vectors BAAI/bge-large-en-v1.5");
    });

    it("text2image: img.data[0].url is a URL that serves the image", async () => {
      const { stdout, stderr, status } = await run(2);
      expect(status, stderr).toBe(0);
      const url = stdout.trim();
      expect(url.startsWith(`${platform.url}/endpoint/acme/poster-maker/v1/files/`)).toBe(true);
      const image = await fetch(url);
      expect(image.status).toBe(200);
      expect(image.headers.get("content-type")).toBe("image/png");
      expect(Buffer.from(await image.arrayBuffer()).subarray(1, 4).toString()).toBe("PNG");
    });

    it("text2audio: out.mp3 holds the replica's audio byte for byte", async () => {
      const { stderr, status, cwd } = await run(3);
      expect(status, stderr).toBe(0);
      const audio = readFileSync(join(cwd, "out.mp3"));
      const expected = Buffer.alloc(4096);
      for (let i = 0; i < expected.length; i++) expected[i] = (i * 7 + "Hola, su pedido va en camino.".length) % 256;
      expect(audio.equals(expected)).toBe(true);
    });

    it("audio2text: the upload reaches the replica and the text comes back", async () => {
      const { stdout, stderr, status } = await run(4);
      expect(status, stderr).toBe(0);
      expect(stdout.trim()).toMatch(/^transcribed \d+ bytes of call\.mp3$/);
    });
  });
});
