/** A one-line outcome: success in a polite live region, failure as an alert. */
export function Message({ ok, error }: { ok?: string | null; error?: string | null }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (ok) return <p class="ok" role="status">{ok}</p>;
  return null;
}
