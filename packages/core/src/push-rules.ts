/** TODO: being written (push rules: the spec's default rule set and pure rule-set operations). */
export {};
