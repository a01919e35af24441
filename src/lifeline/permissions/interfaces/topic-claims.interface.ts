/**
 * The JWT `topics` claim of one connection, compiled for matching:
 * `{"topics":{"subscribe":["news","chat:*"],"publish":["chat:*"]}}`.
 * When a token carries it, it is the whole truth for that connection: an
 * action whose list is missing is allowed on no topic.
 */
export interface TopicClaims {
  readonly subscribe: TopicPatterns;
  readonly publish: TopicPatterns;
}

/** One list of patterns: exact topics, and prefixes (a pattern ending in `*`, without the `*`). */
export interface TopicPatterns {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}
