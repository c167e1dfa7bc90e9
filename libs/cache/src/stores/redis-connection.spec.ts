import { withoutCredentials } from './redis-connection';

describe('withoutCredentials', () => {
  it('masks the user and password of every URL in a message, "@" in the password included', () => {
    expect(withoutCredentials('connect to redis://app:s3cret@10.0.0.5:6379 and rediss://:p@ss@h:1 failed')).toBe(
      'connect to redis://***@10.0.0.5:6379 and rediss://***@h:1 failed',
    );
  });

  it('leaves messages without credentials as they are', () => {
    expect(withoutCredentials('connect ECONNREFUSED 127.0.0.1:6379')).toBe('connect ECONNREFUSED 127.0.0.1:6379');
    expect(withoutCredentials('self-signed certificate in certificate chain')).toBe('self-signed certificate in certificate chain');
  });
});
