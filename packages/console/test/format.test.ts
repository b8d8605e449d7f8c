import { describe, expect, it } from "vitest";
import { maskKey, sdkCall, snippets, toYaml } from "../src/format";

describe("console text", () => {
  it("writes a spec as block YAML, quoting what YAML would misread", () => {
    const yaml = toYaml({
      name: "Support bot",
      slug: "support-bot",
      execution_policy: "scheduled",
      execution_policy_config: {
        window: "Mon-Fri 08:00-20:00 Europe/Madrid",
        replicas: 1,
        workers: { gpu_pool: ["NVIDIA A10G", "on"] },
      },
      empty: [],
    });
    expect(yaml).toBe(
      [
        'name: "Support bot"',
        "slug: support-bot",
        "execution_policy: scheduled",
        "execution_policy_config:",
        '  window: "Mon-Fri 08:00-20:00 Europe/Madrid"',
        "  replicas: 1",
        "  workers:",
        "    gpu_pool:",
        '      - "NVIDIA A10G"',
        '      - "on"',
        "empty: []",
        "",
      ].join("\n"),
    );
  });

  it("names the spec's own fields in camelCase in the SDK call, keeping wire names inside", () => {
    const call = sdkCall("acme", {
      slug: "chat",
      execution_policy: "fixed",
      execution_policy_config: { max_workers: 2 },
    });
    expect(call).toContain('"executionPolicy": "fixed"');
    expect(call).toContain('"max_workers": 2');
    expect(call).toContain('ManagementClient.fromEnv({ project: "acme" })');
  });

  it("never puts a key in a snippet: only its last four characters", () => {
    const key = "ik_live_abcdefghijklmnopqrstuvwxyz0123456789AB";
    expect(maskKey(key)).toBe("ik_live_••••89AB");
    const { curl, python, typescript } = snippets(
      "http://x",
      "acme",
      "chat",
      "chat/completions",
      { model: "m", stream: true, messages: [] },
      key,
    );
    for (const text of [curl, python, typescript]) {
      expect(text).not.toContain(key);
      expect(text).toContain("ik_live_••••89AB");
    }
    expect(python).toContain("stream=True");
    expect(curl).toContain("http://x/endpoint/acme/chat/v1/chat/completions");
  });
});
