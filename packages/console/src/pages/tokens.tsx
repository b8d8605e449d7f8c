import { useEffect, useState } from "preact/hooks";
import { type ApiToken, api, type Identity, messageOf } from "../api";
import { markReady } from "../app";
import { when } from "../format";
import { usePoll } from "../hooks";
import { ErrorNote, SecretOnce } from "../widgets";

/** API tokens (organisation admins): the page the platform's "dashboard -> API tokens" messages name. */
export function TokensPage(props: { identity: Identity }) {
  const admin = props.identity.admin && props.identity.scope === "organisation";
  const tokens = usePoll(
    () => (admin ? api.tokens() : Promise.resolve({ data: [] as ApiToken[] })),
    [admin],
    10_000,
  );
  const [name, setName] = useState("");
  const [project, setProject] = useState("");
  const [created, setCreated] = useState<(ApiToken & { token: string }) | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (!tokens.loading) markReady();
  }, [tokens.loading]);

  if (!admin) {
    return (
      <section>
        <h1>API tokens</h1>
        <p>Only an organisation admin token manages API tokens. Ask your organisation's admin for a token.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>API tokens</h1>
      <p>
        Control tokens (<code>ik_sdk_</code>) for the SDKs, the CLI and this console. The first admin token
        comes from <code>.inferencekey/dev.env</code> under <code>npm start</code>, or from the deployment's
        output in AWS.
      </p>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          api.createToken(name.trim(), project.trim() || undefined).then(
            (token) => {
              setCreated(token);
              setName("");
              setProject("");
              setError(undefined);
              tokens.refresh();
            },
            (failure: unknown) => setError(messageOf(failure)),
          );
        }}
      >
        <label for="token-name">Token name</label>
        <input
          id="token-name"
          required
          maxLength={120}
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <label for="token-project">Project (empty: the whole organisation)</label>
        <input id="token-project" value={project} onInput={(e) => setProject(e.currentTarget.value)} />
        <button type="submit">Create token</button>
      </form>
      <ErrorNote message={error ?? tokens.error} />
      {created === undefined ? null : (
        <SecretOnce label={`Token ${created.name}`} secret={created.token} testId="new-token" />
      )}
      <table class="data" data-testid="tokens-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            <th scope="col">Reaches</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(tokens.data?.data ?? []).map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>
                <code>
                  {t.prefix}…{t.last4}
                </code>
              </td>
              <td>
                {t.project === undefined ? "organisation" : `project ${t.project}`}
                {t.admin ? " · admin" : ""}
              </td>
              <td>{when(t.created_at)}</td>
              <td>{t.revoked_at === undefined ? "active" : `revoked ${when(t.revoked_at)}`}</td>
              <td>
                {t.revoked_at !== undefined || t.id === props.identity.token_id ? null : confirming ===
                  t.id ? (
                  <button
                    type="button"
                    class="danger"
                    onClick={() =>
                      api.revokeToken(t.id).then(
                        () => {
                          setConfirming(undefined);
                          tokens.refresh();
                        },
                        (failure: unknown) => setError(messageOf(failure)),
                      )
                    }
                  >
                    Confirm revoke <span class="visually-hidden">{t.name}</span>
                  </button>
                ) : (
                  <button type="button" onClick={() => setConfirming(t.id)}>
                    Revoke <span class="visually-hidden">{t.name}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
