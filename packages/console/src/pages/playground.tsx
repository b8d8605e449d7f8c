import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { management, messageOf, type Workload } from "../api";
import { markReady } from "../app";
import { snippets } from "../format";
import { usePoll } from "../hooks";
import { BASE, Link } from "../router";
import { Code, ErrorNote, Tabs } from "../widgets";

const KINDS = ["chat", "completion", "embedding", "image"] as const;
type Kind = (typeof KINDS)[number];
const ROUTE: Record<Kind, string> = {
  chat: "chat/completions",
  completion: "completions",
  embedding: "embeddings",
  image: "images/generations",
};
const PLAYGROUND_KEY_MINUTES = 15;

function defaultKind(workload: Workload | undefined): Kind {
  const task = String(workload?.spec.task_type ?? "");
  if (task === "embedding") return "embedding";
  if (task === "text2image") return "image";
  return "chat";
}

function bodyFor(kind: Kind, model: string, prompt: string): Record<string, unknown> {
  switch (kind) {
    case "chat":
      return { model, messages: [{ role: "user", content: prompt }], stream: true };
    case "completion":
      return { model, prompt, max_tokens: 128, stream: true };
    case "embedding":
      return { model, input: prompt };
    case "image":
      return { model, prompt, n: 1, size: "512x512" };
  }
}

/** Reads an SSE stream of OpenAI chunks, handing each text delta over as it arrives. */
async function readStream(response: Response, onDelta: (text: string) => void): Promise<void> {
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return;
      try {
        const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string }; text?: string }[] };
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content ?? choice?.text;
        if (typeof text === "string") onDelta(text);
      } catch {
        // A line that is no JSON chunk (a comment, a keep-alive) carries no text.
      }
    }
  }
}

/**
 * Calls a workload's endpoint from the browser with a data key the user pastes (plaintext keys
 * are never stored, so none can be picked from a list) or a short-lived key minted on consent.
 * The key lives in this component's memory only.
 */
export function PlaygroundPage(props: { project: string; slug: string }) {
  const { project, slug } = props;
  const mgmt = useMemo(() => management(project), [project]);
  const workload = usePoll(() => mgmt.get(slug), [project, slug], 0);
  const [key, setKey] = useState("");
  const [consent, setConsent] = useState(false);
  const [kind, setKind] = useState<Kind | undefined>(undefined);
  const [prompt, setPrompt] = useState("Say hello in five words.");
  const [output, setOutput] = useState("");
  const [image, setImage] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [snippetTab, setSnippetTab] = useState<"curl" | "Python" | "TypeScript">("curl");
  const abort = useRef<AbortController | undefined>(undefined);
  useEffect(() => {
    if (!workload.loading) markReady();
  }, [workload.loading]);
  useEffect(() => () => abort.current?.abort(), []);

  const chosen = kind ?? defaultKind(workload.data);
  const model = workload.data?.spec.model ?? "";
  const body = bodyFor(chosen, String(model), prompt);
  const code = snippets(location.origin, project, slug, ROUTE[chosen], body, key);

  const send = async () => {
    setBusy(true);
    setError(undefined);
    setOutput("");
    setImage(undefined);
    setStatus("sending…");
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    try {
      const response = await fetch(
        `/endpoint/${encodeURIComponent(project)}/${encodeURIComponent(slug)}/v1/${ROUTE[chosen]}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${key.trim()}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: controller.signal,
        },
      );
      if (!response.ok) {
        const text = await response.text();
        let message = `${response.status} ${response.statusText}`;
        try {
          message = `${response.status}: ${(JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message}`;
        } catch {
          // Not JSON: the status line says enough.
        }
        setStatus(undefined);
        setError(`Refused — ${message}`);
        return;
      }
      setStatus(`${response.status} ${response.headers.get("content-type")?.split(";")[0] ?? ""}`);
      if (body.stream === true) {
        await readStream(response, (delta) => setOutput((text) => text + delta));
      } else if (chosen === "embedding") {
        const result = (await response.json()) as { data?: { embedding?: number[] }[] };
        const vector = result.data?.[0]?.embedding ?? [];
        setOutput(
          `${vector.length} dimensions: [${vector
            .slice(0, 8)
            .map((v) => v.toFixed(4))
            .join(", ")}${vector.length > 8 ? ", …" : ""}]`,
        );
      } else {
        const result = (await response.json()) as { data?: { url?: string; b64_json?: string }[] };
        const first = result.data?.[0];
        const src =
          first?.url ??
          (first?.b64_json === undefined ? undefined : `data:image/png;base64,${first.b64_json}`);
        // Only the platform's own file URLs or inline data are shown: never a third-party address.
        if (
          src !== undefined &&
          (src.startsWith("data:image/") ||
            src.startsWith(`${location.origin}/endpoint/`) ||
            src.startsWith("/endpoint/"))
        ) {
          setImage(src);
        }
        setOutput(src === undefined ? "no image in the answer" : "image received");
      }
    } catch (failure) {
      if (!controller.signal.aborted) setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p class="crumbs">
        <Link href={`${BASE}/projects/${encodeURIComponent(project)}/workloads/${encodeURIComponent(slug)}`}>
          {slug}
        </Link>{" "}
        / playground
      </p>
      <h1>Playground: {slug}</h1>
      <ErrorNote message={workload.error} />
      <h2>Data key</h2>
      <label for="playground-key">Paste an ik_live_ key of this workload</label>
      <input
        id="playground-key"
        type="password"
        autoComplete="off"
        spellcheck={false}
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
        placeholder="ik_live_…"
      />
      <div class="consent">
        <input
          id="consent"
          type="checkbox"
          checked={consent}
          onChange={(e) => setConsent(e.currentTarget.checked)}
        />
        <label for="consent">
          Create a new key named "console playground" for this workload, expiring in {PLAYGROUND_KEY_MINUTES}{" "}
          minutes
        </label>
        <button
          type="button"
          disabled={!consent}
          onClick={() =>
            mgmt.keys
              .create(slug, {
                name: "console playground",
                expiresAt: new Date(Date.now() + PLAYGROUND_KEY_MINUTES * 60_000),
              })
              .then(
                (created) => {
                  setKey(created.key);
                  setConsent(false);
                  setError(undefined);
                },
                (failure: unknown) => setError(messageOf(failure)),
              )
          }
        >
          Mint playground key
        </button>
      </div>
      <h2>Request</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void send();
        }}
      >
        <label for="kind">Kind</label>
        <select id="kind" value={chosen} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <label for="prompt">Prompt</label>
        <textarea id="prompt" rows={3} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
        <button type="submit" disabled={busy || key.trim() === ""}>
          {busy ? "Sending…" : "Send"}
        </button>
      </form>
      <ErrorNote message={error} />
      <div class="output" aria-live="polite">
        {status === undefined ? null : <p class="help">{status}</p>}
        <pre data-testid="playground-output">{output}</pre>
        {image === undefined ? null : <img src={image} alt={`Generated for: ${prompt}`} class="generated" />}
      </div>
      <h2>The same call elsewhere</h2>
      <Tabs
        label="Snippet language"
        tabs={["curl", "Python", "TypeScript"] as const}
        value={snippetTab}
        onChange={setSnippetTab}
      />
      <Code
        label={`${snippetTab} snippet`}
        text={snippetTab === "curl" ? code.curl : snippetTab === "Python" ? code.python : code.typescript}
      />
    </section>
  );
}
