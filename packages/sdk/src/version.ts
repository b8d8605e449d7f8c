/**
 * The SDK's version, sent in the `User-Agent` header as `inferencekey-sdk-ts/<version>`.
 * Kept as a literal (not read from package.json) so bundlers need no JSON import; a test keeps
 * it equal to the package version.
 *
 * @example
 * ```ts
 * import { SDK_VERSION } from "@inferencekey/sdk";
 * console.log(`running @inferencekey/sdk ${SDK_VERSION}`);
 * ```
 */
export const SDK_VERSION = "0.1.0";

/** The `User-Agent` every request carries. */
export const USER_AGENT = `inferencekey-sdk-ts/${SDK_VERSION}`;
