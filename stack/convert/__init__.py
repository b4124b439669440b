"""Pure translations of the stack model for other orchestrators (no daemon, no docker SDK).

swarm   the stack as Docker Swarm objects: service specs, overlay networks, secrets and
        configs named by content digest, and the keys Swarm cannot honour (file:line)
kubernetes  the stack as Kubernetes manifests: workloads, Services, probes, init containers
        that wait for depends_on, Pods shared by services, and the keys not converted (file:line)
unsupported  what both share: a key the target cannot honour, located; the --strict error
"""
