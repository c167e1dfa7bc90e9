export { PolicyRegistry, DEFAULT_POLICY_NAME } from './policy-registry';
export type { ResolvedPolicy } from './resolved-policy';
