import * as z from "zod/mini";
import "../zod";
import { ConditionFailedError, ConflictError, NotFoundError, ValidationError } from "../errors";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { deleteAllProjectSecrets } from "../project-secrets";
import { SLUG_PATTERN } from "../spec/schema";
import { openCursor, signCursor } from "../store/signed-cursor";
import { type Principal, requireAdmin } from "../tokens";

export const ProjectInputSchema = z.strictObject({
  slug: z.string().check(z.regex(SLUG_PATTERN)),
  name: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(120))),
});

export interface ProjectRecord {
  slug: string;
  name: string;
  created_at: string;
}

/**
 * Resolves a project the caller may see. A project-scoped token asking for another project gets the
 * same 404 as for a project that does not exist: no hint that it exists.
 */
export async function getProject(ctx: PlatformContext, principal: Principal, slug: string): Promise<ProjectRecord> {
  const notFound = new NotFoundError(`project "${slug}" not found`);
  if (principal.project !== undefined && principal.project !== slug) throw notFound;
  const item = await ctx.store.get(keys.project(slug).pk, keys.project(slug).sk);
  if (!item) throw notFound;
  return item.data as unknown as ProjectRecord;
}

/**
 * Project slugs are DNS labels on every path that creates one (the control API's body, an implicit
 * creation by ensure): they become URL segments and store keys, so `#`, spaces and newlines never
 * get in. `path` names the field the caller wrote it in.
 */
export function assertProjectSlug(slug: string, path: string): void {
  if (slug.length <= 63 && SLUG_PATTERN.test(slug)) return;
  throw new ValidationError(`"${slug.slice(0, 80)}" is not a valid project slug.`, [
    {
      path,
      message: "not a DNS label",
      received: slug,
      expected: "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit",
    },
  ]);
}

export async function createProject(
  ctx: PlatformContext,
  principal: Principal,
  input: z.output<typeof ProjectInputSchema>,
  slugPath = "slug",
): Promise<ProjectRecord> {
  if (principal.project !== undefined) requireAdmin(principal);
  assertProjectSlug(input.slug, slugPath);
  const record: ProjectRecord = { slug: input.slug, name: input.name ?? input.slug, created_at: isoNow(ctx) };
  try {
    await ctx.store.put({ ...keys.project(input.slug), data: { ...record } }, { kind: "absent" });
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new ConflictError(`project "${input.slug}" already exists`);
    throw error;
  }
  return record;
}

/**
 * The project for a write that may create it: an organisation-scoped token's first ensure() into
 * a new project creates it; a project-scoped token never creates anything outside its project.
 */
export async function getOrCreateProject(ctx: PlatformContext, principal: Principal, slug: string): Promise<ProjectRecord> {
  try {
    return await getProject(ctx, principal, slug);
  } catch (error) {
    if (!(error instanceof NotFoundError) || principal.project !== undefined) throw error;
  }
  try {
    return await createProject(ctx, principal, { slug }, "project");
  } catch (error) {
    if (error instanceof ConflictError) return getProject(ctx, principal, slug);
    throw error;
  }
}

/** What a projects listing's cursors are bound to. */
const PROJECTS_CURSOR_SCOPE = "projects";

export async function listProjects(
  ctx: PlatformContext,
  principal: Principal,
  page: { limit?: number; cursor?: string },
): Promise<{ data: ProjectRecord[]; next_cursor?: string }> {
  if (principal.project !== undefined) {
    const only = await getProject(ctx, principal, principal.project).catch(() => undefined);
    return { data: only ? [only] : [] };
  }
  const result = await ctx.store.query({
    pk: keys.org(),
    skPrefix: keys.projectPrefix(),
    limit: page.limit ?? 50,
    ...(page.cursor ? { cursor: openCursor(ctx.serverSecret, PROJECTS_CURSOR_SCOPE, page.cursor) } : {}),
  });
  return {
    data: result.items.map((i) => i.data as unknown as ProjectRecord),
    ...(result.cursor ? { next_cursor: signCursor(ctx.serverSecret, PROJECTS_CURSOR_SCOPE, result.cursor) } : {}),
  };
}

/**
 * Deletes an empty project (organisation admin only): its workloads and workers go first, so
 * nothing is left running that no route reaches. Works on any stored slug, including ones made
 * before slugs were checked on every path.
 */
export async function deleteProject(ctx: PlatformContext, principal: Principal, slug: string): Promise<{ slug: string; deleted: true }> {
  requireAdmin(principal);
  if (principal.project !== undefined) throw new NotFoundError(`project "${slug}" not found`);
  const item = await ctx.store.get(keys.project(slug).pk, keys.project(slug).sk);
  if (item === undefined) throw new NotFoundError(`project "${slug}" not found`);
  const pk = keys.workload(slug, "").pk;
  const [workload, worker] = await Promise.all(
    [keys.workloadPrefix(), keys.workerPrefix()].map(async (skPrefix) => (await ctx.store.query({ pk, skPrefix, limit: 1 })).items[0]),
  );
  const left = workload ?? worker;
  if (left !== undefined) {
    throw new ConflictError(`project "${slug}" still has workloads or workers (${left.sk.split("#")[1] ?? left.sk}): delete them first`);
  }
  try {
    await ctx.store.delete(item.pk, item.sk, { kind: "version", version: item.version });
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new ConflictError(`project "${slug}" changed meanwhile; try again`);
    throw error;
  }
  await deleteAllProjectSecrets(ctx, slug);
  return { slug, deleted: true };
}
