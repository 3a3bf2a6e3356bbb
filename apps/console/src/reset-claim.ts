/**
 * The claim of an emergency reset, kept in this tab's memory only (never in storage or a URL): after the reset
 * every account is gone, and this is how the new SuperAdmin password is fetched, once.
 */
let pending: { jobId: string; claimToken: string } | null = null;

export const pendingClaim = {
  get: () => pending,
  set: (claim: { jobId: string; claimToken: string }) => {
    pending = claim;
  },
  clear: () => {
    pending = null;
  },
};
