// Images asked for as URLs (packages/aws/src/s3-blob-store.ts): private objects under `files/`,
// served only through URLs the gateway signs; each is deleted a day after it was written (the
// smallest lifecycle unit, above the URLs' one-hour lifetime). Job inputs and results over 256 KB
// live under `jobs/` (docs/jobs.md): kept 31 days, past the longest result_ttl_seconds (30 days);
// a job's record expires first, so nothing reads an object after its rule deletes it.
export const files = new sst.aws.Bucket("Files", {
  lifecycle: [
    { id: "generated-files", prefix: "files/", expiresIn: "1 day" },
    { id: "job-objects", prefix: "jobs/", expiresIn: "31 days" },
  ],
});

export const outputs = {};
