import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configPath, readProfiles, resolveCredentials, writeProfile } from "../src/config";
import { CliError } from "../src/errors";

const home = () => mkdtempSync(join(tmpdir(), "ik-config-"));

describe("credentials", () => {
  it("come from the environment first, then the profile; --project overrides both", () => {
    // Prepare
    const env = { HOME: home() } as NodeJS.ProcessEnv;
    writeProfile(configPath(env), "default", { base_url: "http://profile", token: "ik_sdk_profile", project: "from-profile" });

    // Act
    const fromProfile = resolveCredentials({}, env);
    const fromEnv = resolveCredentials({}, { ...env, INFERENCEKEY_SDK_TOKEN: "ik_sdk_env", INFERENCEKEY_BASE_URL: "http://env", INFERENCEKEY_PROJECT: "from-env" });
    const overridden = resolveCredentials({ project: "flag" }, env);

    // Assess
    expect(fromProfile).toEqual({ baseUrl: "http://profile", token: "ik_sdk_profile", project: "from-profile", source: "profile" });
    expect(fromEnv).toEqual({ baseUrl: "http://env", token: "ik_sdk_env", project: "from-env", source: "environment" });
    expect(overridden.project).toBe("flag");
  });

  it("the profile file is private (0600), keeps the other profiles, and lives under XDG_CONFIG_HOME when set", () => {
    const env = { HOME: home(), XDG_CONFIG_HOME: join(home(), "xdg") } as NodeJS.ProcessEnv;
    const path = configPath(env);
    writeProfile(path, "default", { base_url: "http://a", token: "ik_sdk_a" });
    writeProfile(path, "prod", { base_url: "http://b", token: "ik_sdk_b", project: "p" });
    expect(path).toBe(join(env.XDG_CONFIG_HOME as string, "inferencekey/config.toml"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Object.keys(readProfiles(path))).toEqual(["default", "prod"]);
    expect(resolveCredentials({ profile: "prod" }, env).baseUrl).toBe("http://b");
  });

  it("no credentials anywhere, or a broken file, is an error that says where it looked", () => {
    const env = { HOME: home() } as NodeJS.ProcessEnv;
    expect(() => resolveCredentials({}, env)).toThrow(/run `inferencekey login`/);
    writeFileSync(join(env.HOME as string, "broken.toml"), "this is = = not toml");
    expect(() => readProfiles(join(env.HOME as string, "broken.toml"))).toThrow(CliError);
  });
});
