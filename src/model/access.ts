// Who may do what: users, their roles and per-user permissions, and the principal a
// request was made by. Roles nest (admin ⊇ operator ⊇ viewer); the permissions that
// reach packet payloads (capture, pcap) are granted per user only, never by a role,
// and a deny beats any grant.

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['capture', 'pcap'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What a route needs: a role, a permission, or both. */
export interface Need {
  role?: Role;
  permission?: Permission;
}

/** An API token as stored: its id and the SHA-256 of the token, never the token. */
export interface StoredToken {
  id: string;
  sha256: string;
  createdAt: string;
}

/** A user as kept in <data-dir>/users.json: secrets only as hashes. */
export interface StoredUser {
  name: string;
  roles: Role[];
  grants: Permission[];
  deny: Permission[];
  /** scrypt$N$r$p$salt$hash (base64), when the user may sign in with a password. */
  passwordHash?: string;
  tokens: StoredToken[];
  /** Where the user was first defined. */
  source: 'config' | 'api';
}

/** A user as the API shows it: no hash of anything. */
export interface UserView {
  name: string;
  roles: Role[];
  grants: Permission[];
  deny: Permission[];
  /** What the user may do with packets after deny: grants minus deny. */
  permissions: Permission[];
  password: boolean;
  tokens: { id: string; createdAt: string }[];
  source: 'config' | 'api';
}

/** A user as the config file gives it (password: a scrypt hash string, or plain text). */
export interface UserInput {
  name: string;
  roles: Role[];
  grants?: Permission[];
  deny?: Permission[];
  password?: string;
}

/** Who made a request. */
export interface Principal {
  /** The user's name; `token` for --api-token; `anonymous` when no credential is needed. */
  name: string;
  kind: 'user' | 'api-token' | 'anonymous';
  roles: Role[];
  /** Effective permissions: grants minus deny. */
  permissions: Permission[];
  /** Permissions the user was denied (so a refusal can say "denied", not "not granted"). */
  denied: Permission[];
}
