export * from './topic-claims.interface';
export * from './topic-policy.interface';
