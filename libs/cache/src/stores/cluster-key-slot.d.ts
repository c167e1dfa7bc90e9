/** The Cluster hash slot of a key (hash tags honoured); the package ioredis itself uses, which ships no types. */
declare module 'cluster-key-slot' {
  function clusterKeySlot(key: string | Buffer): number;
  export = clusterKeySlot;
}
