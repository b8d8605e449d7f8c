import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import {
  awsConfigFromEnv,
  createDynamoDocumentClient,
  dynamoClientOptionsFromConfig,
} from "../src/dynamo-client";

describe("awsConfigFromEnv", () => {
  it("reads the region and the emulator endpoint", () => {
    const config = awsConfigFromEnv({
      AWS_REGION: "eu-west-1",
      INFERENCEKEY_DYNAMODB_ENDPOINT: "http://127.0.0.1:4567",
    });

    expect(config).toEqual({ region: "eu-west-1", dynamodbEndpoint: "http://127.0.0.1:4567" });
    expect(dynamoClientOptionsFromConfig(config)).toEqual({
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:4567",
    });
  });

  it("leaves out what is unset or blank, so the SDK defaults apply", () => {
    expect(awsConfigFromEnv({ INFERENCEKEY_DYNAMODB_ENDPOINT: "  " })).toEqual({});
  });
});

describe("createDynamoDocumentClient", () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it("applies region, endpoint and retry count", async () => {
    const client = createDynamoDocumentClient({
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:1",
      maxAttempts: 5,
    });

    expect(await client.config.region()).toBe("eu-west-1");
    expect(await client.config.maxAttempts()).toBe(5);
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe("127.0.0.1");
    client.destroy();
  });

  it("fails a request to a server that never answers after its timeout and retries, not never", async () => {
    // Prepare: accepts connections and then says nothing.
    server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = createDynamoDocumentClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 2,
      requestTimeoutMs: 200,
    });
    const started = Date.now();

    // Act
    const error = await client
      .send(new GetCommand({ TableName: "t", Key: { pk: "p", sk: "s" } }))
      .catch((caught: unknown) => caught);

    // Assess
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(sockets.length).toBe(2);
    // Two attempts of 200 ms each (timers may fire a few ms early on a busy machine).
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(5_000);
    client.destroy();
  });
});
