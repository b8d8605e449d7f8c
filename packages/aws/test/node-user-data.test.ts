import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSecret } from "@inferencekey/core";
import { afterEach, describe, expect, it } from "vitest";
import { NODE_22_PACKAGE, type NodeUserDataInput, renderNodeUserData } from "../src/node-user-data";

const INPUT: NodeUserDataInput = {
  baseUrl: "https://abc123.lambda-url.us-east-1.on.aws",
  launchToken: generateSecret("worker"),
  nodeId: "node_01JABC",
  region: "us-east-1",
  node: NODE_22_PACKAGE,
  agent: { bucket: "ik-prod-artifacts", key: "agent/inferencekey-agent-0.1.0.tgz", sha256: "a".repeat(64) },
  vllmVersions: ["0.8.5", "0.9.1"],
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("renderNodeUserData", () => {
  it("is a POSIX sh script with both phases and every value quoted into a variable", () => {
    const script = renderNodeUserData(INPUT);

    execFileSync("sh", ["-n"], { input: script });
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toContain(`LAUNCH_TOKEN=${INPUT.launchToken}\n`);
    expect(script).toContain("AGENT_S3=s3://ik-prod-artifacts/agent/inferencekey-agent-0.1.0.tgz\n");
    expect(script).toContain(`NODE_INTEGRITY=${NODE_22_PACKAGE.integrity}\n`);
    expect(script).toContain("VLLM_VERSIONS='0.8.5 0.9.1'\n");
    expect(script).toContain("BASE_URL=https://abc123.lambda-url.us-east-1.on.aws\n");
    expect(script).toContain('"$ROOT/envs/vllm-$version/bin/pip" install --quiet "vllm==$version"');
    expect(script).toContain("systemctl enable --now inferencekey-agent.service");
    expect(Buffer.byteLength(script)).toBeLessThan(16 * 1024);
  });

  it.each([
    ["baseUrl", { baseUrl: "https://x.example.com/$(reboot)" }],
    ["launchToken", { launchToken: "ik_wrk_'; rm -rf / #" }],
    ["nodeId", { nodeId: "node 1" }],
    ["region", { region: "us-east-1; id" }],
    ["node.tarballUrl", { node: { ...NODE_22_PACKAGE, tarballUrl: "http://registry.npmjs.org/node.tgz" } }],
    ["agent.key", { agent: { ...INPUT.agent, key: "agent/$HOME.tgz" } }],
    ["vllmVersions[1]", { vllmVersions: ["0.8.5", "0.9 && curl evil"] }],
  ])("refuses a hostile %s, naming the field", (field, override) => {
    expect(() => renderNodeUserData({ ...INPUT, ...override })).toThrow(`node user data: ${field} `);
  });

  it("start writes the launch token root-only and runs the agent with the node's settings; once registered it writes no token", () => {
    // Prepare: a node root whose "node" binary records how it was run.
    const root = mkdtempSync(join(tmpdir(), "ik-node-root-"));
    dirs.push(root);
    mkdirSync(join(root, "node/bin"), { recursive: true });
    const fakeNode = join(root, "node/bin/node");
    writeFileSync(fakeNode, `#!/bin/sh\nenv | grep '^INFERENCEKEY_\\|^LAUNCH_TOKEN' | sort > "$INFERENCEKEY_NODE_ROOT/ran"\necho "$@" >> "$INFERENCEKEY_NODE_ROOT/ran"\n`);
    chmodSync(fakeNode, 0o755);
    const script = join(root, "user-data.sh");
    writeFileSync(script, renderNodeUserData(INPUT));
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", INFERENCEKEY_NODE_ROOT: root };

    // Act
    const first = spawnSync("sh", [script, "start"], { env, encoding: "utf8" });

    // Assess
    expect(first.status).toBe(0);
    expect(readFileSync(join(root, "etc/launch-token"), "utf8")).toBe(`${INPUT.launchToken}\n`);
    expect(statSync(join(root, "etc/launch-token")).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, "etc")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, "ran"), "utf8").split("\n")).toEqual([
      `INFERENCEKEY_AGENT_STATE_DIR=${root}/state/agent`,
      `INFERENCEKEY_BACKEND_ENVS=${root}/envs`,
      `INFERENCEKEY_BASE_URL=${INPUT.baseUrl}`,
      `INFERENCEKEY_LAUNCH_TOKEN_FILE=${root}/etc/launch-token`,
      "INFERENCEKEY_NODE_ID=node_01JABC",
      `INFERENCEKEY_NODE_ROOT=${root}`,
      `${root}/agent/bin/inferencekey-agent.mjs`,
      "",
    ]);

    // A restart after registration: the agent removed the token file and kept its worker token.
    rmSync(join(root, "etc/launch-token"));
    writeFileSync(join(root, "state/agent/node.json"), `${JSON.stringify({ node_id: INPUT.nodeId, node_token: generateSecret("worker") })}\n`);
    expect(spawnSync("sh", [script, "start"], { env }).status).toBe(0);
    expect(existsSync(join(root, "etc/launch-token"))).toBe(false);
  });

  it("an unknown phase is a usage error", () => {
    const result = spawnSync("sh", ["-s", "stop"], { input: renderNodeUserData(INPUT), encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("[install|start]");
  });
});
