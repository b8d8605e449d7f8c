import { useEffect, useMemo, useState } from "preact/hooks";
import {
  api,
  type CreatedKey,
  type DataKey,
  management,
  messageOf,
  type SeriesPoint,
  type WorkloadEvent,
} from "../api";
import { markReady } from "../app";
import { TimeChart } from "../chart";
import { ago, money, sdkCall, toYaml, when } from "../format";
import { usePoll } from "../hooks";
import { BASE, Link } from "../router";
import { Code, ErrorNote, SecretOnce, Tabs } from "../widgets";
import { phaseOf } from "./workloads";

const HOUR_MS = 3_600_000;

export function WorkloadPage(props: { project: string; slug: string }) {
  const { project, slug } = props;
  const mgmt = useMemo(() => management(project), [project]);
  const workload = usePoll(() => mgmt.get(slug), [project, slug], 2000);
  const replicas = usePoll(() => api.replicas(project, slug), [project, slug], 3000);
  const series = usePoll(
    () => {
      const to = new Date();
      return api.series(project, slug, new Date(to.getTime() - HOUR_MS), to);
    },
    [project, slug],
    5000,
  );
  const [specView, setSpecView] = useState<"YAML" | "SDK call">("YAML");
  useEffect(() => {
    if (!workload.loading) markReady();
  }, [workload.loading]);

  const w = workload.data;
  if (w === undefined) {
    return (
      <section>
        <h1>{slug}</h1>
        {workload.loading ? <p class="loading">Loading…</p> : <ErrorNote message={workload.error} />}
      </section>
    );
  }
  const totals = series.data?.totals;
  return (
    <section>
      <p class="crumbs">
        <Link href={`${BASE}/projects/${encodeURIComponent(project)}/workloads`}>Workloads</Link> / {slug}
      </p>
      <h1>
        {w.name}{" "}
        <span class={`phase phase-${phaseOf(w)}`} data-testid="workload-phase">
          {phaseOf(w)}
        </span>
      </h1>
      <p>
        <Link
          href={`${BASE}/projects/${encodeURIComponent(project)}/workloads/${encodeURIComponent(slug)}/playground`}
        >
          Open the playground
        </Link>
      </p>
      <ErrorNote message={workload.error} />
      <dl class="facts" data-testid="workload-numbers">
        <div>
          <dt>Ready replicas</dt>
          <dd data-number="ready_replicas">{w.status.readyReplicas}</dd>
        </div>
        <div>
          <dt>Desired replicas</dt>
          <dd data-number="desired_replicas">{w.status.desiredReplicas}</dd>
        </div>
        <div>
          <dt>Generation</dt>
          <dd data-number="generation">{w.generation}</dd>
        </div>
        <div>
          <dt>Requests, last hour</dt>
          <dd data-number="requests">{totals?.requests ?? "—"}</dd>
        </div>
        <div>
          <dt>Errors, last hour</dt>
          <dd data-number="errors">{totals?.errors ?? "—"}</dd>
        </div>
        <div>
          <dt>Tokens, last hour</dt>
          <dd data-number="total_tokens">{totals?.total_tokens ?? "—"}</dd>
        </div>
        <div>
          <dt>GPU-hours, last hour</dt>
          <dd data-number="gpu_hours">{totals === undefined ? "—" : totals.gpu_hours.toFixed(3)}</dd>
        </div>
        <div>
          <dt>Cost, last hour</dt>
          <dd data-number="cost_usd">{money(totals?.cost_usd)}</dd>
        </div>
      </dl>
      <h2>Controller</h2>
      <p data-testid="decision">{w.status.decision}</p>
      <p>
        Next change:{" "}
        <span data-testid="next-change">
          {w.status.nextChangeAt === undefined ? "none scheduled" : when(w.status.nextChangeAt)}
        </span>
        {w.status.nextRetryAt === undefined ? null : (
          <> · next retry of a failed replica: {when(w.status.nextRetryAt)}</>
        )}
      </p>

      <h2>Charts, last hour</h2>
      <ErrorNote message={series.error} />
      {series.data === undefined ? (
        <p class="loading">Loading charts…</p>
      ) : (
        <Charts points={series.data.points} />
      )}

      <h2>Replicas</h2>
      <ErrorNote message={replicas.error} />
      <table class="data" data-testid="replicas-table">
        <thead>
          <tr>
            <th scope="col">Replica</th>
            <th scope="col">Worker</th>
            <th scope="col">Phase</th>
            <th scope="col">Started</th>
            <th scope="col">Restarts</th>
            <th scope="col">Last reason</th>
          </tr>
        </thead>
        <tbody>
          {(replicas.data?.data ?? []).slice(0, 50).map((r) => (
            <tr key={r.id}>
              <td>
                <code>{r.id}</code>
              </td>
              <td>{r.worker_id ?? "—"}</td>
              <td>{r.phase}</td>
              <td>{when(r.started_at)}</td>
              <td>{r.restarts}</td>
              <td class="reason">{r.last_reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Spec</h2>
      <Tabs
        label="Spec format"
        tabs={["YAML", "SDK call"] as const}
        value={specView}
        onChange={setSpecView}
      />
      {specView === "YAML" ? (
        <Code label="Spec as YAML" text={toYaml(w.spec)} />
      ) : (
        <Code label="The SDK call that declares it" text={sdkCall(project, w.spec)} />
      )}

      <KeysSection project={project} slug={slug} />

      <EventsTimeline project={project} slug={slug} />
    </section>
  );
}

/** The events, newest first: the first page polled, older pages fetched on demand with the cursor. */
function EventsTimeline(props: { project: string; slug: string }) {
  const mgmt = useMemo(() => management(props.project), [props.project]);
  const latest = usePoll(() => mgmt.events(props.slug, { limit: 50 }), [props.project, props.slug], 2000);
  const [older, setOlder] = useState<{ events: WorkloadEvent[]; cursor: string | undefined } | undefined>(
    undefined,
  );
  const [error, setError] = useState<string | undefined>(undefined);
  const shownIds = new Set((latest.data?.data ?? []).map((e) => e.id));
  const events = [...(latest.data?.data ?? []), ...(older?.events ?? []).filter((e) => !shownIds.has(e.id))];
  const cursor = older === undefined ? latest.data?.nextCursor : older.cursor;
  return (
    <>
      <h2>Events</h2>
      <ErrorNote message={error ?? latest.error} />
      <ol class="events" data-testid="events" aria-live="polite">
        {events.map((e) => (
          <li key={e.id}>
            <time dateTime={e.at} title={when(e.at)}>
              {ago(e.at)}
            </time>{" "}
            <strong>{e.type}</strong> {e.message}
          </li>
        ))}
      </ol>
      {cursor === undefined ? null : (
        <button
          type="button"
          onClick={() =>
            mgmt.events(props.slug, { limit: 50, cursor }).then(
              (page) => {
                setOlder((o) => ({ events: [...(o?.events ?? []), ...page.data], cursor: page.nextCursor }));
                setError(undefined);
              },
              (failure: unknown) => setError(messageOf(failure)),
            )
          }
        >
          Older events
        </button>
      )}
    </>
  );
}

function Charts(props: { points: SeriesPoint[] }) {
  const data = useMemo(() => {
    const p = props.points;
    const col = (pick: (x: SeriesPoint) => number) => p.map(pick);
    return {
      times: p.map((x) => Date.parse(`${x.minute}:00Z`) / 1000),
      traffic: [
        { label: "requests", values: col((x) => x.requests), color: "#1f5fbf" },
        { label: "errors", values: col((x) => x.errors), color: "#b3261e" },
      ],
      tokens: [{ label: "tokens", values: col((x) => x.total_tokens), color: "#6a3fb5" }],
      latency: [
        { label: "p50", values: col((x) => x.latency_ms_p50), color: "#1f7a3a" },
        { label: "p99", values: col((x) => x.latency_ms_p99), color: "#9a5b00" },
      ],
      replicas: [{ label: "ready replicas", values: col((x) => x.ready_replicas), color: "#1f5fbf" }],
      capacity: [
        { label: "GPU-hours", values: col((x) => x.gpu_hours), color: "#6a3fb5" },
        { label: "dollars", values: col((x) => x.cost_usd), color: "#9a5b00" },
      ],
    };
  }, [props.points]);
  return (
    <div class="charts">
      <TimeChart
        id="requests"
        title="Requests and errors"
        times={data.times}
        series={data.traffic}
        unit="per minute"
      />
      <TimeChart id="tokens" title="Tokens" times={data.times} series={data.tokens} unit="per minute" />
      <TimeChart id="latency" title="Latency" times={data.times} series={data.latency} unit="ms" />
      <TimeChart id="replicas" title="Replicas" times={data.times} series={data.replicas} />
      <TimeChart
        id="capacity"
        title="GPU-hours and dollars"
        times={data.times}
        series={data.capacity}
        unit="per minute"
      />
    </div>
  );
}

function KeysSection(props: { project: string; slug: string }) {
  const mgmt = useMemo(() => management(props.project), [props.project]);
  const keys = usePoll(() => mgmt.keys.list(props.slug), [props.project, props.slug], 5000);
  const [name, setName] = useState("");
  const [overlap, setOverlap] = useState("86400");
  const [created, setCreated] = useState<{ label: string; key: CreatedKey } | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const act = (work: Promise<unknown>) =>
    work.then(
      () => {
        setError(undefined);
        keys.refresh();
      },
      (failure: unknown) => setError(messageOf(failure)),
    );

  return (
    <>
      <h2 id="keys">Data keys</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void act(
            mgmt.keys.create(props.slug, { name: name.trim() }).then((key) => {
              setCreated({ label: `New key ${key.name}`, key });
              setName("");
            }),
          );
        }}
      >
        <label for="key-name">Key name</label>
        <input
          id="key-name"
          value={name}
          required
          maxLength={120}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <button type="submit">Create key</button>
        <label for="overlap">Old key works after rotation for (seconds)</label>
        <input
          id="overlap"
          type="number"
          min={0}
          max={2592000}
          value={overlap}
          onInput={(e) => setOverlap(e.currentTarget.value)}
        />
      </form>
      <ErrorNote message={error} />
      {created === undefined ? null : (
        <SecretOnce label={created.label} secret={created.key.key} testId="new-key" />
      )}
      <table class="data" data-testid="keys-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(keys.data ?? []).map((k: DataKey) => (
            <tr key={k.id} data-key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>
                  {k.prefix}…{k.last4}
                </code>
              </td>
              <td>{when(k.createdAt)}</td>
              <td>{when(k.expiresAt)}</td>
              <td>{k.revokedAt === undefined ? "active" : `revoked ${when(k.revokedAt)}`}</td>
              <td>
                {k.revokedAt === undefined ? (
                  <>
                    <button
                      type="button"
                      onClick={() =>
                        void act(
                          mgmt.keys
                            .rotate(props.slug, k.id, { oldKeyExpiresInSeconds: Number(overlap) })
                            .then((key) => setCreated({ label: `Rotated key ${key.name}`, key })),
                        )
                      }
                    >
                      Rotate <span class="visually-hidden">{k.name}</span>
                    </button>{" "}
                    {confirming === k.id ? (
                      <button
                        type="button"
                        class="danger"
                        onClick={() =>
                          void act(mgmt.keys.revoke(props.slug, k.id).then(() => setConfirming(undefined)))
                        }
                      >
                        Confirm revoke <span class="visually-hidden">{k.name}</span>
                      </button>
                    ) : (
                      <button type="button" onClick={() => setConfirming(k.id)}>
                        Revoke <span class="visually-hidden">{k.name}</span>
                      </button>
                    )}
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
