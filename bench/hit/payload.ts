/**
 * The value every hit benchmark reads: a JSON object of about 1 KB (a user profile), the same for every library,
 * so that every row pays the same decode.
 */
export function payload(id: number): Record<string, unknown> {
  return {
    id,
    username: `user-${id}`,
    email: `user-${id}@example.com`,
    displayName: 'Ada Lovelace-Byron',
    roles: ['reader', 'writer', 'reviewer'],
    createdAt: '2024-03-01T12:34:56.000Z',
    settings: { theme: 'dark', locale: 'en-GB', timezone: 'Europe/London', notifications: { email: true, sms: false, push: true } },
    address: { street: '12 Analytical Engine Road', city: 'London', postcode: 'SW1A 1AA', country: 'GB' },
    stats: { posts: 1234, followers: 56789, following: 321, likes: 98765 },
    website: 'https://example.com/people/ada-lovelace',
    tags: ['math', 'poetry', 'engines', 'notes', 'bernoulli', 'looms', 'science', 'history'],
    bio: 'First to publish an algorithm meant for a machine; wrote notes on the Analytical Engine that run longer than the paper they annotate. '.repeat(3),
  };
}

/** Encoded size of the payload, for the report. */
export const PAYLOAD_BYTES = Buffer.byteLength(JSON.stringify(payload(1)));
