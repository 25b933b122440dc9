// What the hosts at each end of a flow reported about their socket (process, parent,
// container), merged event after event and shared between flows: a busy process owns
// thousands of flows, and each event brings its own copy of the same facts.
import type { SideInfo } from '../model/event.ts';

/** Distinct descriptions kept for sharing; past this, new ones are simply not shared. */
const MAX_INTERNED_SIDES = 65_536;

/** One shared object per distinct (process, parent, container) description. */
export class SideInterner {
  readonly #sides = new Map<string, SideInfo>();

  intern(side: SideInfo): SideInfo {
    const key = `${processKey(side.process)}\u0001${processKey(side.parent)}\u0001${containerKey(side.container)}`;
    const known = this.#sides.get(key);
    if (known) return known;
    if (this.#sides.size < MAX_INTERNED_SIDES) this.#sides.set(key, side);
    return side;
  }
}

function processKey(p: SideInfo['process']): string {
  return p ? `${p.pid}\0${p.tid}\0${p.uid}\0${p.user}\0${p.gid}\0${p.group}\0${p.path}\0${p.cmdline}\0${p.vmSizeKb}\0${p.vmPeakKb}` : '';
}

function containerKey(c: SideInfo['container']): string {
  return c ? `${c.runtime}\0${c.id}\0${c.name}\0${c.pod}\0${c.namespace}` : '';
}

/** A side's description after another event: what it says now, else what was known. */
export function mergeSide(old: SideInfo | undefined, next: SideInfo): SideInfo {
  if (!old) return { ...next };
  return { process: next.process ?? old.process, parent: next.parent ?? old.parent, container: next.container ?? old.container };
}

/**
 * The flow's side after `next`: the shared side it has when `next` says nothing new
 * (field by field: the usual case, a flow's events repeat their process), else the
 * merged side, interned. Comparing is far cheaper than building the interner's key.
 */
export function sideAfter(sides: SideInterner, old: SideInfo | undefined, next: SideInfo): SideInfo {
  if (old && sameProcess(old.process, next.process) && sameProcess(old.parent, next.parent) && sameContainer(old.container, next.container)) return old;
  return sides.intern(mergeSide(old, next));
}

/** `next` (when given) says what `old` says. */
function sameProcess(old: SideInfo['process'], next: SideInfo['process']): boolean {
  if (next === undefined || next === old) return true;
  return old !== undefined && old.pid === next.pid && old.tid === next.tid && old.uid === next.uid && old.user === next.user && old.gid === next.gid &&
    old.group === next.group && old.path === next.path && old.cmdline === next.cmdline && old.vmSizeKb === next.vmSizeKb && old.vmPeakKb === next.vmPeakKb;
}

function sameContainer(old: SideInfo['container'], next: SideInfo['container']): boolean {
  if (next === undefined || next === old) return true;
  return old !== undefined && old.runtime === next.runtime && old.id === next.id && old.name === next.name && old.pod === next.pod && old.namespace === next.namespace;
}

export function hasInfo(side: SideInfo): boolean {
  return side.process !== undefined || side.parent !== undefined || side.container !== undefined;
}
