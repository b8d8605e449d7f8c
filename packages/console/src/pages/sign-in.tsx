import { useEffect, useState } from "preact/hooks";
import { api, type Identity, messageOf, session } from "../api";
import { markReady } from "../app";
import { ErrorNote } from "../widgets";

/** Sign-in with an `ik_sdk_` token: checked with /v1/whoami, then kept in this tab's session storage. */
export function SignIn(props: { error: string | undefined; onSignedIn: (who: Identity) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(props.error);
  const [busy, setBusy] = useState(false);
  useEffect(() => markReady(), []);

  return (
    <main id="main" class="sign-in">
      <h1>Sign in to the InferenceKey console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          const value = token.trim();
          if (!value.startsWith("ik_sdk_")) {
            setError(
              "The console needs an ik_sdk_ control token (ik_live_ keys call endpoints; ik_wrk_ tokens are for agents).",
            );
            return;
          }
          setBusy(true);
          api.whoami(value).then(
            (who) => {
              session.save(value);
              setToken("");
              props.onSignedIn(who);
            },
            (failure: unknown) => {
              setBusy(false);
              setError(messageOf(failure));
            },
          );
        }}
      >
        <label for="token">Control token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder="ik_sdk_…"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" class="help">
          Under <code>npm start</code> the organisation admin token is in <code>.inferencekey/dev.env</code>,
          in AWS it is in the deployment's output. Other tokens are made on the API tokens page. The token
          stays in this tab only.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <ErrorNote message={error} />
      </form>
    </main>
  );
}
