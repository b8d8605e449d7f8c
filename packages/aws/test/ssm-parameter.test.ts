import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningMoto, startMoto } from "../../../test/support/moto";
import { SsmParameter } from "../src";

/** The SecureString reader the Lambda entries use for the server secret, against SSM on moto server. */
describe("SsmParameter", () => {
  let moto: RunningMoto;
  let env: NodeJS.ProcessEnv;
  let ssm: SSMClient;
  const put = (name: string, value: string) => ssm.send(new PutParameterCommand({ Name: name, Type: "SecureString", Value: value, Overwrite: true }));

  beforeAll(async () => {
    moto = await startMoto();
    env = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", AWS_SESSION_TOKEN: "session", AWS_ENDPOINT_URL_SSM: moto.endpoint };
    ssm = new SSMClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  }, 60_000);

  afterAll(async () => {
    await moto?.stop();
  });

  it("reads the decrypted value once, serves it from the cache, and reads it again after the cache expires", async () => {
    await put("/ik/test/secret", "first-value-0123456789");
    let clock = 0;
    const parameter = new SsmParameter({ name: "/ik/test/secret", cacheMs: 1000, env, now: () => clock });

    const first = await parameter.value();
    await put("/ik/test/secret", "rotated-value-0123456789");
    const cached = await parameter.value();
    clock = 1000;
    const refreshed = await parameter.value();

    expect([first, cached, refreshed]).toEqual(["first-value-0123456789", "first-value-0123456789", "rotated-value-0123456789"]);
  });

  it("names the parameter and SSM's error when it cannot be read, and never caches the failure", async () => {
    const parameter = new SsmParameter({ name: "/ik/test/missing", env });

    await expect(parameter.value()).rejects.toThrow("reading SSM parameter /ik/test/missing failed: ParameterNotFound");
    await put("/ik/test/missing", "now-it-exists-0123456789");
    await expect(parameter.value()).resolves.toBe("now-it-exists-0123456789");
  });

  it("refuses to sign without credentials, naming what is missing", async () => {
    const parameter = new SsmParameter({ name: "/ik/test/secret", env: { AWS_REGION: "us-east-1" } });

    await expect(parameter.value()).rejects.toThrow("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
  });
});
