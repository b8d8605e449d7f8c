import { useEffect, useState } from "preact/hooks";

/** The console's own pages live under this path; every link is built from it. */
export const BASE = "/console";

/** Client-side navigation: history API, no reload, no token in any URL. */
export function navigate(path: string): void {
  if (location.pathname + location.search === path) return;
  history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener("popstate", update);
    return () => removeEventListener("popstate", update);
  }, []);
  return path;
}

/** Matches `/console/projects/:project/workloads/:slug` style patterns; undefined when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const parts = `${BASE}${pattern}`.split("/").filter(Boolean);
  const segments = path.split("/").filter(Boolean);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    let segment: string;
    try {
      segment = decodeURIComponent(segments[i] as string);
    } catch {
      return undefined;
    }
    if (part.startsWith(":")) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}

/** A link that navigates in place (keyboard and middle-click keep working: it is a real anchor). */
export function Link(props: {
  href: string;
  class?: string;
  children: preact.ComponentChildren;
  "aria-current"?: "page" | undefined;
}) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props["aria-current"]}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
