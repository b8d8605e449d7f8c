import { useEffect, useMemo, useState } from "preact/hooks";
import { management, messageOf, type RegisteredWorker } from "../api";
import { markReady } from "../app";
import { ago } from "../format";
import { usePoll } from "../hooks";
import { Code, ErrorNote, SecretOnce } from "../widgets";

/** The exact command that runs the agent for a registered worker (token from the environment, not a flag). */
export function agentCommand(origin: string, token: string): string {
  return [
    `export INFERENCEKEY_WORKER_TOKEN=${token}`,
    "node packages/agent/bin/inferencekey-agent.mjs \\",
    `  --base-url ${origin} \\`,
    "  --advertise-host <the address the platform reaches this box on>",
  ].join("\n");
}

export function WorkersPage(props: { project: string }) {
  const mgmt = useMemo(() => management(props.project), [props.project]);
  const workers = usePoll(() => mgmt.workers.list(), [props.project], 3000);
  const [name, setName] = useState("");
  const [addresses, setAddresses] = useState("");
  const [registered, setRegistered] = useState<RegisteredWorker | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!workers.loading) markReady();
  }, [workers.loading]);

  return (
    <section>
      <h1>Workers of {props.project}</h1>
      <h2>Register a worker</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const list = addresses
            .split(",")
            .map((a) => a.trim())
            .filter((a) => a !== "");
          mgmt.workers.register({ name: name.trim(), ...(list.length > 0 ? { addresses: list } : {}) }).then(
            (worker) => {
              setRegistered(worker);
              setName("");
              setError(undefined);
              workers.refresh();
            },
            (failure: unknown) => setError(messageOf(failure)),
          );
        }}
      >
        <label for="worker-name">Worker name</label>
        <input
          id="worker-name"
          required
          maxLength={120}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <label for="worker-addresses">
          Addresses it may advertise (optional, comma-separated IPs or CIDR ranges)
        </label>
        <input
          id="worker-addresses"
          value={addresses}
          onInput={(e) => setAddresses(e.currentTarget.value)}
          placeholder="10.0.0.0/24"
        />
        <button type="submit">Register worker</button>
      </form>
      <ErrorNote message={error} />
      {registered === undefined ? null : (
        <SecretOnce
          label={`Worker token of ${registered.name}`}
          secret={registered.token}
          testId="worker-token"
        >
          <p>
            Run the agent on the box (the token is read from the environment, never a flag visible in ps):
          </p>
          <Code label="Agent command" text={agentCommand(location.origin, registered.token)} />
        </SecretOnce>
      )}
      <h2>Workers</h2>
      <ErrorNote message={workers.error} />
      <table class="data" data-testid="workers-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">GPUs</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">Replicas</th>
          </tr>
        </thead>
        <tbody>
          {(workers.data ?? []).map((w) => (
            <tr key={w.id} data-worker={w.id}>
              <td>
                {w.name} <code>{w.id}</code>
              </td>
              <td>{w.status}</td>
              <td>
                {w.gpus.length === 0
                  ? "none reported"
                  : w.gpus.map((g) => `${g.name} (${Math.round(g.memory_mb / 1024)} GB)`).join(", ")}
              </td>
              <td>{ago(w.lastHeartbeatAt)}</td>
              <td>
                {w.replicas.length === 0
                  ? "none"
                  : w.replicas.map((r) => `${r.workload}#${r.slot} ${r.phase}`).join(", ")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
