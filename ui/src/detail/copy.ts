/**
 * Copies text; the async clipboard needs a secure context (https, or localhost/127.0.0.1 as with
 * kubectl port-forward). Elsewhere the caller shows the text selected for a manual copy.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
