import type { ResolvedPolicy } from '../policies/resolved-policy';
import type { CacheEntry } from './cache-entry';

/**
 * Where an entry stands in its life, judged at one instant:
 * - `fresh`: serve it.
 * - `early`: still fresh, but XFetch picked this read to refresh it in the background before it expires.
 * - `revalidate`: past freshness, within stale-while-revalidate: serve it now and refresh in the background.
 * - `grace`: past those, within grace: load, and fall back to it only if the loader fails or times out.
 * - `expired`: of no use.
 */
export type Freshness = 'fresh' | 'early' | 'revalidate' | 'grace' | 'expired';

export function judgeFreshness(entry: CacheEntry, policy: ResolvedPolicy, now: number, random: () => number = Math.random): Freshness {
  if (policy.sliding) return 'fresh';
  if (now < entry.freshUntil) {
    // XFetch (Vattani et al., VLDB 2015): refresh early when now − Δ·β·ln(U) ≥ expiry, U uniform in (0,1].
    // The slower the loader (Δ) and the closer the expiry, the likelier a read is picked.
    const beta = policy.earlyRefreshBeta;
    if (beta > 0 && entry.loadMs > 0 && now - entry.loadMs * beta * Math.log(1 - random()) >= entry.freshUntil) return 'early';
    return 'fresh';
  }
  const staleFor = now - entry.freshUntil;
  if (staleFor < policy.staleWhileRevalidateMs) return 'revalidate';
  if (staleFor < policy.graceMs) return 'grace';
  return 'expired';
}

/** How long past freshness an entry must stay in the store to serve stale-while-revalidate and grace. */
export function staleRetentionMs(policy: ResolvedPolicy): number {
  return Math.max(policy.staleWhileRevalidateMs, policy.graceMs);
}
