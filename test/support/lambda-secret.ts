import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { FUNCTION_ENV } from "@inferencekey/aws";

/**
 * What infra/ gives a function for its server secret, on an emulator: the keyring stored in an
 * SSM SecureString parameter there, the parameter's name in the environment, SSM's endpoint
 * pointed at the emulator, and Powertools quiet (no log lines, metrics or traces in test output).
 */
export async function provideServerSecret(endpoint: string, name: string, keyring: string): Promise<void> {
  Object.assign(process.env, {
    [FUNCTION_ENV.serverSecretParameter]: name,
    AWS_ENDPOINT_URL_SSM: endpoint,
    POWERTOOLS_LOG_LEVEL: "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
    POWERTOOLS_TRACE_ENABLED: "false",
  });
  const client = new SSMClient({ region: "us-east-1", endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  await client.send(new PutParameterCommand({ Name: name, Type: "SecureString", Value: keyring, Overwrite: true }));
  client.destroy();
}
