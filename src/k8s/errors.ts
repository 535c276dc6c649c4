/**
 * A problem the person running `egresskit k8s ...` can fix (a bad flag value, a config file that
 * cannot work in a Pod, input that is not YAML). The CLI turns it into a UsageError (exit 2), so
 * the message must name the value and the fix. Anything else escaping src/k8s is a bug.
 */
export class K8sError extends Error {
  override readonly name = 'K8sError';
}
