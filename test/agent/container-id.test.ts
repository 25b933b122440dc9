// Container ids from /proc/<pid>/cgroup, on the path shapes each runtime and cgroup driver writes.
import { describe, expect, it } from 'vitest';
import { containerField, containerOfCgroupFile, containerOfCgroupPath } from '../../src/agent/container-id.ts';

const ID = 'cbd2540ec5be8b1c46d0f5a37d2f4c0e9a86f2b3d9c4a1e7b6f5d4c3b2a19080';
const POD = '5f0b2d1e-8c7a-4b3e-9d2f-1a2b3c4d5e6f';
const POD_ = POD.replaceAll('-', '_');

describe('container id from a cgroup path', () => {
  it.each([
    ['Docker, cgroupfs driver (v1)', `/docker/${ID}`, { id: ID, runtime: 'docker' }],
    ['Docker, systemd driver', `/system.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker' }],
    ['containerd, cgroupfs (namespace/id)', `/default/${ID}`, { id: ID, runtime: 'containerd' }],
    ['containerd, systemd driver', `/system.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd' }],
    ['CRI-O, systemd driver', `/machine.slice/crio-${ID}.scope`, { id: ID, runtime: 'cri-o' }],
    ['Podman, systemd driver', `/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope`, { id: ID, runtime: 'podman' }],
    ['Kubernetes + containerd, systemd driver', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd', podUid: POD }],
    ['Kubernetes + CRI-O, systemd driver', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD_}.slice/crio-${ID}.scope`, { id: ID, runtime: 'cri-o', podUid: POD }],
    ['Kubernetes guaranteed pod, systemd driver', `/kubepods.slice/kubepods-pod${POD_}.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd', podUid: POD }],
    ['Kubernetes + Docker, systemd driver', `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker', podUid: POD }],
    ['Kubernetes, cgroupfs driver (containerd/Docker)', `/kubepods/burstable/pod${POD}/${ID}`, { id: ID, podUid: POD }],
    ['Kubernetes guaranteed pod, cgroupfs driver', `/kubepods/pod${POD}/${ID}`, { id: ID, podUid: POD }],
    ['Kubernetes + CRI-O, cgroupfs driver', `/kubepods/besteffort/pod${POD}/crio-${ID}`, { id: ID, runtime: 'cri-o', podUid: POD }],
  ])('%s', (_name, path, expected) => {
    expect(containerOfCgroupPath(path)).toEqual(expected);
  });

  it.each([
    ['a host process under systemd', '/system.slice/ssh.service'],
    ['a user session', '/user.slice/user-1000.slice/session-3.scope'],
    ['the root cgroup', '/'],
    ["CRI-O's conmon, not the container", `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_}.slice/crio-conmon-${ID}.scope`],
    ['a pod-level cgroup without a container', `/kubepods/burstable/pod${POD}`],
    ['a short id', '/docker/cbd2540ec5be'],
  ])('no container for %s', (_name, path) => {
    expect(containerOfCgroupPath(path)).toBeUndefined();
  });

  it('reads a whole cgroup v1 file: the first line naming a container wins', () => {
    const text = [
      '12:pids:/docker/' + ID,
      '11:memory:/docker/' + ID,
      '1:name=systemd:/docker/' + ID,
      '0::/system.slice/containerd.service',
      '',
    ].join('\n');
    expect(containerOfCgroupFile(text)).toEqual({ id: ID, runtime: 'docker' });
  });

  it('reads a cgroup v2 file and a host process', () => {
    expect(containerOfCgroupFile(`0::/system.slice/docker-${ID}.scope\n`)).toEqual({ id: ID, runtime: 'docker' });
    expect(containerOfCgroupFile('0::/init.scope\n')).toBeUndefined();
  });

  it('writes the LOCAL_CONTAINER shapes the collector reads', () => {
    expect(containerField({ id: ID, runtime: 'docker' })).toEqual({ ID, DOCKER: { ID } });
    expect(containerField({ id: ID, runtime: 'cri-o', podUid: POD })).toMatchObject({ ID, K8S: { ID, POD_UID: POD } });
  });
});
