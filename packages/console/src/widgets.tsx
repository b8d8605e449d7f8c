import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

/** A secret shown once: selectable text, a copy button, and a plain warning that it will not come back. */
export function SecretOnce(props: {
  label: string;
  secret: string;
  testId: string;
  children?: ComponentChildren;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <p>
        <strong>{props.label}</strong> — shown once: copy it now, it is not stored and cannot be shown again.
      </p>
      <div class="secret-row">
        <code data-testid={props.testId}>{props.secret}</code>
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(props.secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      {props.children}
    </div>
  );
}

export function ErrorNote(props: { message: string | undefined }) {
  if (props.message === undefined) return null;
  return (
    <p class="error" role="alert">
      {props.message}
    </p>
  );
}

/** A block of code or commands; it wraps instead of scrolling, so nothing is out of keyboard reach. */
export function Code(props: { text: string; label: string }) {
  return (
    <figure class="code" aria-label={props.label}>
      <pre>
        <code>{props.text}</code>
      </pre>
    </figure>
  );
}

/** Tabs as buttons with aria-selected; the panel under them is the caller's. */
export function Tabs<T extends string>(props: {
  label: string;
  tabs: readonly T[];
  value: T;
  onChange: (tab: T) => void;
}) {
  return (
    <div class="tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map((tab) => (
        <button
          type="button"
          role="tab"
          aria-selected={tab === props.value}
          key={tab}
          onClick={() => props.onChange(tab)}
        >
          {tab}
        </button>
      ))}
    </div>
  );
}
