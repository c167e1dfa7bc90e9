import { safeSegment } from './key-builder';

/**
 * Where tag versions live. All of a namespace's tag keys carry the hash tag `{<namespace>}`, so they share one Cluster
 * slot and a multi-key read of them (MGET) works on a Cluster too. They sit under the namespace prefix, so
 * clearing the namespace resets them too (entries that recorded other versions then read as misses).
 */
export function tagVersionKey(namespace: string, tag: string): string {
  return `${namespace}:~tag{${namespace}}:${safeSegment(tag)}`;
}

/** Counter bumped by every tag invalidation of the namespace, so a fill can tell that one happened while it loaded. */
export function tagEpochKey(namespace: string): string {
  return `${namespace}:~tag{${namespace}}:~epoch`;
}
