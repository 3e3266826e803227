// The roles of API tokens, apart from the token store so that the CLI can offer them without loading the database.

/**
 * Who may do what through the HTTP API. A requester files requests and follows its own; an operator approves,
 * runs and retries them; an auditor reads everything and changes nothing; an admin manages tokens (and may do what
 * the others may).
 */
export const ROLES = ['requester', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];
