// The one rule of who may do what: roles nest (admin ⊇ operator ⊇ viewer); the
// permissions capture and pcap come from a user's grants only, and deny beats grant.
import { ROLES, type Need, type Permission, type Principal, type Role } from '../model/access.ts';

const rank = (r: Role): number => ROLES.indexOf(r);

export const hasRole = (p: Principal, role: Role): boolean => p.roles.some((r) => rank(r) >= rank(role));

/** Grants minus deny. */
export const effectivePermissions = (grants: Permission[], deny: Permission[]): Permission[] => grants.filter((g) => !deny.includes(g));

/** Why `p` may not do what `need` asks (naming the missing role or permission), or null when it may. */
export function refusal(p: Principal, need: Need): { missing: Role | Permission; reason: string } | null {
  if (need.role && !hasRole(p, need.role)) {
    const has = p.roles.length ? `has ${p.roles.join(', ')}` : 'has no role';
    return { missing: need.role, reason: `${who(p)} needs the ${need.role} role for this (${has})` };
  }
  if (need.permission && !p.permissions.includes(need.permission)) {
    const perm = need.permission;
    if (p.denied.includes(perm)) return { missing: perm, reason: `${who(p)} is denied the ${perm} permission (a deny beats any grant)` };
    const how = p.kind === 'api-token'
      ? 'the --api-token is an admin without capture or pcap: use a user\'s token'
      : `an admin grants it per user: PATCH /api/v1/users/${p.name} {"grants": ["${perm}"]}; no role includes it`;
    return { missing: perm, reason: `${who(p)} needs the ${perm} permission for this (${how})` };
  }
  return null;
}

const who = (p: Principal) => (p.kind === 'api-token' ? 'the API token' : `user ${p.name}`);
