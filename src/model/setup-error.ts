/** A problem with inspect's own setup (CA files, UI token) that the operator fixes; the CLI exits 2. */
export class InspectSetupError extends Error {
  override readonly name = 'InspectSetupError';
}
