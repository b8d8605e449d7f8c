// Images asked for as URLs (packages/aws/src/s3-blob-store.ts): private objects under `files/`,
// served only through URLs the gateway signs; each is deleted a day after it was written (the
// smallest lifecycle unit, above the URLs' one-hour lifetime).
export const files = new sst.aws.Bucket("Files", {
  lifecycle: [{ id: "generated-files", prefix: "files/", expiresIn: "1 day" }],
});

export const outputs = {};
