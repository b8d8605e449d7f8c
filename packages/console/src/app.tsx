import { useEffect, useState } from "preact/hooks";
import { api, type Identity, messageOf, session } from "./api";
import { GpuPage } from "./pages/gpus";
import { PlaygroundPage } from "./pages/playground";
import { SignIn } from "./pages/sign-in";
import { TokensPage } from "./pages/tokens";
import { WorkersPage } from "./pages/workers";
import { WorkloadPage } from "./pages/workload";
import { WorkloadsPage } from "./pages/workloads";
import { BASE, Link, matchPath, navigate, usePath } from "./router";

/** Sets the ready mark once: the first page is on screen and answers input. */
export function markReady(): void {
  if (document.documentElement.dataset.ready === "true") return;
  document.documentElement.dataset.ready = "true";
  performance.mark("console-ready");
}

export function App() {
  const [identity, setIdentity] = useState<Identity | undefined>(undefined);
  const [checking, setChecking] = useState(session.token() !== undefined);
  const [signInError, setSignInError] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (session.token() === undefined) return;
    api.whoami().then(
      (who) => {
        setIdentity(who);
        setChecking(false);
      },
      (error: unknown) => {
        session.clear();
        setSignInError(`Signed out: ${messageOf(error)}`);
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <p class="loading">Checking the session…</p>;
  if (identity === undefined) {
    return (
      <SignIn
        error={signInError}
        onSignedIn={(who) => {
          setSignInError(undefined);
          setIdentity(who);
        }}
      />
    );
  }
  return (
    <Shell
      identity={identity}
      onSignOut={() => {
        session.clear();
        setIdentity(undefined);
        navigate(`${BASE}/`);
      }}
    />
  );
}

function Shell(props: { identity: Identity; onSignOut: () => void }) {
  const path = usePath();
  const { identity } = props;
  const [projects, setProjects] = useState<string[]>(identity.project === null ? [] : [identity.project]);
  const routeProject = /^\/console\/projects\/([^/]+)/.exec(path)?.[1];
  const project = routeProject === undefined ? projects[0] : decodeURIComponent(routeProject);

  useEffect(() => {
    if (identity.project !== null) return;
    api.projects().then(
      (page) => setProjects(page.data.map((p) => p.slug)),
      () => setProjects([]),
    );
  }, [identity]);

  // The base path shows the first project's workloads.
  useEffect(() => {
    if ((path === `${BASE}/` || path === BASE) && project !== undefined) {
      history.replaceState(null, "", `${BASE}/projects/${encodeURIComponent(project)}/workloads`);
      dispatchEvent(new PopStateEvent("popstate"));
    }
  }, [path, project]);

  const projectPath = (rest: string) =>
    project === undefined ? `${BASE}/` : `${BASE}/projects/${encodeURIComponent(project)}${rest}`;
  const nav: { href: string; label: string; show: boolean }[] = [
    { href: projectPath("/workloads"), label: "Workloads", show: true },
    { href: projectPath("/workers"), label: "Workers", show: true },
    {
      href: `${BASE}/tokens`,
      label: "API tokens",
      show: identity.admin && identity.scope === "organisation",
    },
    { href: `${BASE}/gpus`, label: "GPU Resources", show: true },
  ];

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">InferenceKey</span>
        <nav aria-label="Main">
          <ul>
            {nav
              .filter((n) => n.show)
              .map((n) => (
                <li key={n.label}>
                  <Link
                    href={n.href}
                    aria-current={path.startsWith(n.href.replace(/\/$/, "")) ? "page" : undefined}
                  >
                    {n.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div class="who">
          {projects.length > 1 || identity.project === null ? (
            <label>
              Project{" "}
              <select
                value={project ?? ""}
                onChange={(event) =>
                  navigate(`${BASE}/projects/${encodeURIComponent(event.currentTarget.value)}/workloads`)
                }
              >
                {projects.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <span data-testid="identity">
            {identity.scope === "organisation" ? "Organisation" : `Project ${identity.project}`}
            {identity.admin ? " · admin" : ""}
          </span>
          <button type="button" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} identity={identity} project={project} />
      </main>
    </div>
  );
}

/** The console's pages by path pattern (relative to BASE), first match wins. */
const PAGES: {
  pattern: string;
  render: (
    params: Record<string, string>,
    identity: Identity,
    project: string | undefined,
  ) => preact.JSX.Element;
}[] = [
  { pattern: "/projects/:project/workloads", render: (p) => <WorkloadsPage project={p.project ?? ""} /> },
  {
    pattern: "/projects/:project/workloads/:slug",
    render: (p) => <WorkloadPage project={p.project ?? ""} slug={p.slug ?? ""} />,
  },
  {
    pattern: "/projects/:project/workloads/:slug/playground",
    render: (p) => <PlaygroundPage project={p.project ?? ""} slug={p.slug ?? ""} />,
  },
  { pattern: "/projects/:project/workers", render: (p) => <WorkersPage project={p.project ?? ""} /> },
  { pattern: "/tokens", render: (_p, identity) => <TokensPage identity={identity} /> },
  { pattern: "/gpus", render: (_p, _identity, project) => <GpuPage project={project} /> },
];

function Page(props: { path: string; identity: Identity; project: string | undefined }) {
  const { path, identity } = props;
  for (const page of PAGES) {
    const params = matchPath(page.pattern, path);
    if (params !== undefined) return page.render(params, identity, props.project);
  }
  if (path === `${BASE}/` || path === BASE) {
    if (props.project === undefined) {
      markReady();
      return <p>This token reaches no project yet. Create one with the SDK or `POST /v1/projects`.</p>;
    }
    return <p class="loading">Loading…</p>;
  }
  markReady();
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no console page at <code>{path}</code>. <Link href={`${BASE}/`}>Back to the workloads</Link>.
      </p>
    </section>
  );
}
