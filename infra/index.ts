/**
 * Every infra module, in dependency order; each exports `outputs`, merged into the deployment's
 * outputs. A new concern (compute, queues) is one more file here and one more line below.
 */
export async function deploy(): Promise<Record<string, unknown>> {
  const modules = [
    await import("./storage"),
    await import("./secrets"),
    await import("./compute"),
    await import("./files"),
    await import("./queues"),
    await import("./router"),
    await import("./api"),
    await import("./agent"),
    await import("./gateway"),
    await import("./controller"),
    await import("./admin"),
    await import("./routes"),
    await import("./observability"),
  ];
  return Object.assign({}, ...modules.map((module) => module.outputs));
}
