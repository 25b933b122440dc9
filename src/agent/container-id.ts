// The container a process runs in, from the cgroup paths in /proc/<pid>/cgroup.
// Shapes recognised (cgroup v1 lines "N:controllers:/path", v2 "0::/path"):
//   Docker      cgroupfs  /docker/<id>                      systemd  /system.slice/docker-<id>.scope
//   containerd  cgroupfs  /<namespace>/<id>  (e.g. /default/<id>)  systemd  .../cri-containerd-<id>.scope
//   CRI-O       cgroupfs  .../crio-<id>                     systemd  .../crio-<id>.scope
//   Podman      systemd   .../libpod-<id>.scope
//   Kubernetes  cgroupfs  /kubepods[/<qos>]/pod<uid>/<id>   systemd  /kubepods.slice/...-pod<uid_with_underscores>.slice/<runtime>-<id>.scope
// A container id is 64 hex digits. conmon's scope (crio-conmon-<id>) is not the container.

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman';

export interface Container {
  id: string;
  runtime?: ContainerRuntime;
  /** The Kubernetes pod's UID when the path is under kubepods. */
  podUid?: string;
}

const ID = '([0-9a-f]{64})';
const SCOPE = new RegExp(`(?:^|/)(docker|cri-containerd|crio|libpod)-${ID}\\.scope$`);
const CRIO_CGROUPFS = new RegExp(`/crio-${ID}$`);
const DOCKER_CGROUPFS = new RegExp(`/docker/${ID}$`);
const BARE = new RegExp(`/${ID}$`);
const POD = /(?:\/|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?(?:\/|$)/;

const RUNTIME_OF: Record<string, ContainerRuntime> = { docker: 'docker', 'cri-containerd': 'containerd', crio: 'cri-o', libpod: 'podman' };

/** The container of one cgroup path, or undefined for a host process. */
export function containerOfCgroupPath(path: string): Container | undefined {
  const pod = POD.exec(path)?.[1]?.replaceAll('_', '-');
  const withPod = (c: Container): Container => (pod ? { ...c, podUid: pod } : c);
  let m = SCOPE.exec(path);
  if (m) return withPod({ id: m[2], runtime: RUNTIME_OF[m[1]] });
  if ((m = CRIO_CGROUPFS.exec(path))) return withPod({ id: m[1], runtime: 'cri-o' });
  if ((m = DOCKER_CGROUPFS.exec(path))) return withPod({ id: m[1], runtime: 'docker' });
  if ((m = BARE.exec(path))) {
    // Under kubepods the runtime is not in the path (cgroupfs driver: containerd or Docker).
    if (pod) return { id: m[1], podUid: pod };
    // containerd's cgroupfs default: /<namespace>/<id>, one level deep.
    if (/^\/[^/]+\/[0-9a-f]{64}$/.test(path)) return { id: m[1], runtime: 'containerd' };
    return { id: m[1] };
  }
  return undefined;
}

/** The container of a process from the text of /proc/<pid>/cgroup (v1 or v2). */
export function containerOfCgroupFile(text: string): Container | undefined {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':', line.indexOf(':') + 1);
    if (colon < 0) continue;
    const found = containerOfCgroupPath(line.slice(colon + 1).trim());
    if (found) return found;
  }
  return undefined;
}

/** The ebpflowexport-style LOCAL_CONTAINER object. */
export function containerField(c: Container): Record<string, unknown> {
  if (c.podUid) return { ID: c.id, K8S: { ID: c.id, POD_UID: c.podUid, ...(c.runtime ? { RUNTIME: c.runtime } : {}) } };
  if (c.runtime === 'docker') return { ID: c.id, DOCKER: { ID: c.id } };
  return { ID: c.id, ...(c.runtime ? { RUNTIME: c.runtime } : {}) };
}
